import request from 'supertest';
import { createSinchEmulator, sandboxNumber, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import { formatted, uniquePhone } from '../factories/phone.factory';
import { createTestApp, SINCH_KEY, SINCH_SECRET, type TestApp } from '../helpers/test-app';

describe('GET / (demo page)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  test('When the page is asked for, then 200 HTML with a labelled phone form, a labelled code form and a polite status region', async () => {
    const res = await request(t.app).get('/');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/<form id="phone-form"/);
    expect(res.text).toMatch(/<label for="phone">/);
    expect(res.text).toMatch(/<input\s+id="phone"[^>]*\stype="tel"\s+autocomplete="tel"/);
    expect(res.text).toMatch(/<label for="code">/);
    expect(res.text).toMatch(/<input\s+id="code"[^>]*\sinputmode="numeric"\s+autocomplete="one-time-code"/);
    expect(res.text).toMatch(/id="status"[^>]*\saria-live="polite"/);
  });

  test('When the page is served, then the CSP forbids inline scripts and the page needs none', async () => {
    const res = await request(t.app).get('/');

    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.text).not.toMatch(/\sstyle=|<style/);
    expect(res.text).toMatch(/<script type="module" src="\/demo\/demo\.js"><\/script>/);
  });

  test('When the stylesheet is asked for, then 200 text/css', async () => {
    const res = await request(t.app).get('/demo/demo.css');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/css/);
    expect(res.text).toMatch(/\.status/);
  });

  test('When the script is asked for, then 200 JavaScript built from demo.ts', async () => {
    const res = await request(t.app).get('/demo/demo.js');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/javascript/);
    expect(res.text).toMatch(/\/api\/request-otp/);
    // Type annotations are gone: the browser can run it.
    expect(res.text).not.toMatch(/interface \w+|: Promise<void>/);
  });

  test('When no emulator runs, then /api/emulator/inbox does not exist (404 NOT_FOUND)', async () => {
    const res = await request(t.app).get('/api/emulator/inbox').query({ phoneNumber: uniquePhone() });

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ status: 'error', code: 'NOT_FOUND' });
  });
});

describe('GET /api/emulator/inbox (emulator mode)', () => {
  let emulator: SinchEmulator;
  let t: TestApp;

  beforeAll(async () => {
    emulator = await createSinchEmulator({ applicationKey: SINCH_KEY, applicationSecret: SINCH_SECRET });
    t = await createTestApp({ sharedEmulator: emulator, deps: { emulator } });
  });

  afterAll(async () => {
    await t.close();
    await emulator.close();
  });

  async function requestCode(phoneNumber: string): Promise<void> {
    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber });
    expect(res.status).toBe(200);
  }

  test('When a code was sent, then the inbox for that number answers it in the success envelope', async () => {
    const phone = uniquePhone();
    await requestCode(phone);

    const res = await request(t.app).get('/api/emulator/inbox').query({ phoneNumber: phone });

    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      status: 'success',
      message: expect.stringMatching(/emulat/i),
      data: {
        messages: [
          { to: phone, code: emulator.lastCodeFor(phone), sentAt: expect.any(String), delivered: true, method: 'sms' },
        ],
      },
    });
  });

  test('When the number is written as a person types it, then it is normalised to the same inbox', async () => {
    const phone = uniquePhone();
    await requestCode(phone);

    const res = await request(t.app)
      .get('/api/emulator/inbox')
      .query({ phoneNumber: formatted(phone) });

    expect(res.status).toBe(200);
    expect(res.body.data.messages).toEqual([expect.objectContaining({ to: phone, code: emulator.lastCodeFor(phone) })]);
  });

  test('When the + of the number arrives unencoded (as a space), then it is still read as +', async () => {
    const phone = uniquePhone();
    await requestCode(phone);

    const res = await request(t.app).get(`/api/emulator/inbox?phoneNumber=${phone}`);

    expect(res.status).toBe(200);
    expect(res.body.data.messages).toHaveLength(1);
  });

  test('When more than ten codes were sent, then the ten newest come first and other numbers are left out', async () => {
    const phone = uniquePhone();
    const other = uniquePhone();
    await requestCode(other);
    for (let i = 0; i < 12; i += 1) await requestCode(phone);

    const res = await request(t.app).get('/api/emulator/inbox').query({ phoneNumber: phone });

    const expected = emulator.inbox
      .filter((m) => m.to === phone)
      .reverse()
      .slice(0, 10)
      .map(({ to, code, sentAt, delivered, method }) => ({ to, code, sentAt, delivered, method }));
    expect(res.status).toBe(200);
    expect(res.body.data.messages).toEqual(expected);
    expect(res.body.data.messages[0].code).toBe(emulator.lastCodeFor(phone));
  });

  test('When the sandbox never delivers the SMS, then the message is listed as not delivered, without a code', async () => {
    const phone = sandboxNumber('undelivered', 3);
    await requestCode(phone);

    const res = await request(t.app).get('/api/emulator/inbox').query({ phoneNumber: phone });

    expect(res.body.data.messages[0]).toEqual({
      to: phone,
      code: '',
      sentAt: expect.any(String),
      delivered: false,
      method: 'sms',
    });
  });

  test('When a call and a WhatsApp message were sent in given languages, then the inbox tells them apart by method, with the language', async () => {
    const phone = uniquePhone();
    await requestCode(phone);
    const start = { phoneNumber: phone, expirySeconds: 600, codeType: 'Numeric' } as const;
    await t.services.sinch.start({ ...start, method: 'callout', reference: `call-${phone}`, locale: 'sv-SE' });
    await t.services.sinch.start({ ...start, method: 'whatsapp', reference: `wa-${phone}`, locale: 'en-GB' });

    const res = await request(t.app).get('/api/emulator/inbox').query({ phoneNumber: phone });

    expect(res.body.data.messages).toEqual([
      {
        to: phone,
        code: expect.any(String),
        sentAt: expect.any(String),
        delivered: true,
        method: 'whatsapp',
        locale: 'en-GB',
      },
      {
        to: phone,
        code: expect.any(String),
        sentAt: expect.any(String),
        delivered: true,
        method: 'callout',
        locale: 'sv-SE',
      },
      { to: phone, code: expect.any(String), sentAt: expect.any(String), delivered: true, method: 'sms' },
    ]);
  });

  test('When nothing was sent to the number, then an empty list', async () => {
    const res = await request(t.app).get('/api/emulator/inbox').query({ phoneNumber: uniquePhone() });

    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ messages: [] });
  });

  test('When the number is invalid, then 400 INVALID_PHONE_NUMBER from the same normalisation as the API', async () => {
    const res = await request(t.app).get('/api/emulator/inbox').query({ phoneNumber: '+46 12' });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'INVALID_PHONE_NUMBER',
      details: [{ field: 'phoneNumber', reason: 'impossible_number' }],
    });
  });

  test('When phoneNumber is missing, then 400 VALIDATION_ERROR naming the field', async () => {
    const res = await request(t.app).get('/api/emulator/inbox');

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'VALIDATION_ERROR',
      details: [{ field: 'phoneNumber', message: expect.any(String) }],
    });
  });

  test('When the inbox is read, then no log line carries the code', async () => {
    const phone = uniquePhone();
    await requestCode(phone);
    const code = emulator.lastCodeFor(phone)!;

    await request(t.app).get('/api/emulator/inbox').query({ phoneNumber: phone }).expect(200);

    expect(t.logs.text()).not.toContain(`"${code}"`);
  });

  test('When another verb is used, then 405 with Allow: GET', async () => {
    const res = await request(t.app).post('/api/emulator/inbox').send({});

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET');
    expect(res.body).toMatchObject({ status: 'error', code: 'METHOD_NOT_ALLOWED' });
  });
});
