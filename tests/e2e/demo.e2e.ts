/**
 * The demo page in a real browser against the real service in zero-config mode (emulator inbox on).
 * Chromium is Debian's (`apt-get install -y chromium`), driven by playwright-core: no browser is
 * ever downloaded. Run with `npm run test:e2e`; the screenshot lands in artifacts/demo-e2e.png.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startService, type RunningService } from './service';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = path.resolve(__dirname, '..', '..', 'artifacts', 'demo-e2e.png');
const COOLDOWN_SECONDS = 3;

/** A fresh Swedish mobile number per call, outside the emulator's sandbox ranges (+467017406xx). */
let sequence = Math.floor(Math.random() * 900_000);
function newPhone(): string {
  sequence += 1;
  return `+4673${String(sequence).padStart(7, '0')}`;
}

/** Same number, typed the way a person would. */
function typed(e164: string): string {
  const d = e164.slice(3);
  return `+46 ${d.slice(0, 2)} ${d.slice(2, 5)} ${d.slice(5, 7)} ${d.slice(7)}`;
}

let service: RunningService;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  [service, browser] = await Promise.all([
    startService({
      OTP_RESEND_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
      OTP_MAX_ATTEMPTS: '5',
      // Calls on offer: the page shows "Call me instead".
      OTP_METHODS: 'sms,callout',
    }),
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

interface OpenedPage {
  page: Page;
  /** CSP violations and uncaught errors: the page must run without either. */
  problems: string[];
}

async function openPage(): Promise<OpenedPage> {
  const context = await browser.newContext({
    viewport: { width: 1200, height: 860 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text()))
      problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${service.url}/`);
  // The inbox panel appears once the page has found the emulated inbox route.
  await page.locator('#inbox').waitFor({ state: 'visible' });
  return { page, problems };
}

/** Waits until the status region shows `text`, then answers everything it says. */
async function status(page: Page, text: string | RegExp): Promise<string> {
  const region = page.locator('#status', { hasText: text });
  await region.waitFor();
  return (await region.textContent()) ?? '';
}

async function sendCode(page: Page, phone: string): Promise<void> {
  await page.getByLabel('Phone number', { exact: true }).fill(typed(phone));
  // Keyboard only: Enter submits the form.
  await page.getByLabel('Phone number', { exact: true }).press('Enter');
}

async function codeFromInbox(page: Page): Promise<string> {
  const latest = page.locator('#inbox-messages li').first().locator('.inbox-code');
  await latest.filter({ hasText: /^\d{4,}$/ }).waitFor();
  return (await latest.getAttribute('data-code')) ?? '';
}

function otherCode(code: string): string {
  return code
    .split('')
    .map((digit) => String((Number(digit) + 1) % 10))
    .join('');
}

describe('Demo page in headless Chromium (zero-config service, emulated inbox)', () => {
  test('When a person sends a code, reads it in the emulated inbox, enters a wrong code then the right one, then attempts remaining and then verified are shown', async () => {
    const { page, problems } = await openPage();
    const phone = newPhone();
    await page.locator('#inbox', { hasText: 'No real SMS is sent' }).waitFor();

    await sendCode(page, phone);

    expect(await status(page, `Code sent to ${phone}`)).toContain('emulated inbox');
    await page.locator('#code:focus').waitFor();
    await page.locator('#expiry', { hasText: /expires in \d+:\d{2}/ }).waitFor();
    const code = await codeFromInbox(page);
    expect(code).toMatch(/^\d{4}$/);

    await page.getByLabel('Verification code').fill(otherCode(code));
    await page.getByLabel('Verification code').press('Enter');

    const wrong = await status(page, 'Attempts remaining: 4');
    expect(wrong).toContain('The code is not correct. 4 attempts left.');
    expect(wrong).toContain('Error INVALID_CODE');
    expect(await page.getByLabel('Verification code').getAttribute('aria-invalid')).toBe('true');

    await page.getByLabel('Verification code').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();

    expect(await status(page, `${phone} is verified`)).toMatch(/Verified at/);
    expect(await page.locator('#status').getAttribute('class')).toContain('is-success');
    expect(await page.locator('#expiry').textContent()).toBe('');
    const token = page.getByRole('region', { name: 'What your backend receives' });
    await token.waitFor();
    expect(await token.getByLabel('Verification token').textContent()).toMatch(/^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
    const decoded = JSON.parse((await token.getByLabel('Decoded claims').textContent()) ?? '') as unknown;
    expect(decoded).toMatchObject({
      header: { alg: 'EdDSA', typ: 'JWT' },
      claims: { sub: phone, phone_number: phone, phone_number_verified: true, method: 'sms' },
    });

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test('When a code was just sent, then "Send code" is disabled with a live countdown and re-enabled when the cooldown ends', async () => {
    const { page, problems } = await openPage();
    const phone = newPhone();
    const send = page.locator('#send');
    const clickedAt = Date.now();

    await sendCode(page, phone);

    await status(page, `Code sent to ${phone}`);
    await page.locator('#send:disabled', { hasText: /^Send again in [1-3] s$/ }).waitFor();
    await page.locator('#send:disabled', { hasText: /^Send again in [12] s$/ }).waitFor();
    await page
      .locator('#send:enabled', { hasText: 'Send a new code' })
      .waitFor({ timeout: (COOLDOWN_SECONDS + 3) * 1000 });
    expect(Date.now() - clickedAt).toBeGreaterThanOrEqual(COOLDOWN_SECONDS * 1000 - 500);

    // Unlocked exactly when the service allows it: the resend is accepted, not RATE_LIMITED.
    await send.click();
    await status(page, `Code sent to ${phone}`);
    await page.locator('#send:disabled', { hasText: /Send again in/ }).waitFor();
    expect(await page.locator('#status').textContent()).not.toContain('RATE_LIMITED');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test('When the API refuses, then its human message is shown with the way forward: invalid number, number not allowed (with the reason), provider unavailable, rate limited (with a countdown), no pending verification', async () => {
    const { page, problems } = await openPage();
    const phoneInput = page.getByLabel('Phone number', { exact: true });

    await phoneInput.fill('+46 12');
    await phoneInput.press('Enter');
    expect(await status(page, 'Error INVALID_PHONE_NUMBER')).toContain(
      'The phone number has the wrong length for its country.',
    );
    expect(await phoneInput.getAttribute('aria-invalid')).toBe('true');
    await page.locator('#phone:focus').waitFor();

    // A Stockholm landline: valid, but not a mobile number.
    await phoneInput.fill('+46 8 123 456 78');
    await phoneInput.press('Enter');
    expect(await status(page, 'Error PHONE_NUMBER_NOT_ALLOWED')).toContain(
      'Reason: only mobile numbers can receive codes.',
    );

    // A code sent, then the page reloaded (its countdown forgotten): the service's own cooldown speaks.
    const phone = newPhone();
    await sendCode(page, phone);
    await status(page, `Code sent to ${phone}`);
    await page.reload();
    await page.locator('#inbox').waitFor({ state: 'visible' });
    await sendCode(page, phone);
    expect(await status(page, 'Error RATE_LIMITED')).toMatch(
      /A code was just sent to this number\. You can request a new one in \d s\./,
    );
    await page.locator('#send:disabled', { hasText: /^Send again in \d s$/ }).waitFor();

    // A number that never got a code: the page holds no verificationId for it, so it asks for a code
    // first instead of sending a check the API could only refuse.
    await phoneInput.fill(typed(newPhone()));
    await page.getByLabel('Verification code').fill('1234');
    await page.getByLabel('Verification code').press('Enter');
    expect(await status(page, 'Send a code first.')).toContain('send a code, then enter it here');

    // The emulator's sandbox number that answers 503: the service's Retry-After holds every send back.
    await phoneInput.fill('+46 70 174 06 20');
    await phoneInput.press('Enter');
    expect(await status(page, 'Error SMS_PROVIDER_UNAVAILABLE')).toContain('No code was sent.');
    await page.locator('#send:disabled', { hasText: /^Send again in \d s$/ }).waitFor();

    expect(problems).toEqual([]);
    await page.context().close();
  });

  test('When the person presses "Call me instead", then the page says it is calling, the emulated inbox shows the call in the browser\'s language apart from the SMS, the SMS code no longer works and the code the call reads verifies', async () => {
    const { page, problems } = await openPage();
    const phone = newPhone();
    const callButton = page.locator('#call');
    const codeInput = page.getByLabel('Verification code');
    expect(await callButton.isHidden()).toBe(true);

    await sendCode(page, phone);
    await status(page, `Code sent to ${phone}`);
    const smsCode = await codeFromInbox(page);
    // Visible at once, usable when the resend cooldown ends (the service would refuse it before).
    await page.locator('#call:disabled', { hasText: /^Call me instead \(in [1-3] s\)$/ }).waitFor();
    await page
      .locator('#call:enabled', { hasText: /^Call me instead$/ })
      .waitFor({ timeout: (COOLDOWN_SECONDS + 3) * 1000 });
    await callButton.click();

    expect(await status(page, `We are calling you at ${phone}`)).toContain('a voice reads out your code');
    await callButton.waitFor({ state: 'hidden' });
    const latest = page.locator('#inbox-messages li').first();
    await latest.locator('.inbox-method.is-callout', { hasText: 'Call' }).waitFor();
    const callCode = (await latest.locator('.inbox-code').getAttribute('data-code')) ?? '';
    expect(callCode).toMatch(/^\d{4}$/);
    expect(await latest.locator('.inbox-meta').textContent()).toMatch(/^Call to \+46.*, in en-GB at /);
    const earlier = page.locator('#inbox-messages li').nth(1);
    expect(await earlier.locator('.inbox-method').textContent()).toBe('SMS');
    expect(await earlier.locator('.inbox-meta').textContent()).toMatch(/^SMS to \+46.*, in en-GB at /);
    expect(await page.locator('#code-hint').textContent()).toBe('The digits the voice call reads out.');
    expect(await codeInput.getAttribute('inputmode')).toBe('numeric');
    expect(await codeInput.getAttribute('autocomplete')).toBe('one-time-code');

    if (smsCode !== callCode) {
      await codeInput.fill(smsCode);
      await codeInput.press('Enter');
      expect(await status(page, 'Error INVALID_CODE')).toContain('Your code now comes by voice call');
    }
    await codeInput.fill(callCode);
    await page.getByRole('button', { name: 'Verify' }).click();

    expect(await status(page, `${phone} is verified`)).toMatch(/Verified at/);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test('When the page is checked for accessibility basics, then every input has a label, the status region is polite and the inputs ask for the right keyboards and autofill', async () => {
    const { page, problems } = await openPage();

    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    const inputs = await page.locator('input').all();
    expect(inputs.length).toBeGreaterThanOrEqual(2);
    for (const input of inputs) {
      const id = await input.getAttribute('id');
      const labelled =
        (id !== null && (await page.locator(`label[for="${id}"]`).count()) > 0) ||
        (await input.getAttribute('aria-label')) !== null;
      expect({ id, labelled }).toEqual({ id, labelled: true });
    }
    for (const button of await page.locator('button').all()) {
      expect(((await button.textContent()) ?? '').trim()).not.toBe('');
    }
    const statusRegion = page.locator('#status');
    expect(await statusRegion.getAttribute('aria-live')).toBe('polite');
    expect(await statusRegion.getAttribute('role')).toBe('status');

    const phone = page.getByLabel('Phone number', { exact: true });
    expect(await phone.getAttribute('type')).toBe('tel');
    expect(await phone.getAttribute('autocomplete')).toBe('tel');
    const code = page.getByLabel('Verification code');
    expect(await code.getAttribute('inputmode')).toBe('numeric');
    expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
    expect(await page.getByRole('heading', { name: /Emulated inbox/ }).count()).toBe(1);

    // Keyboard only: Tab reaches the phone field, its button, the code field and its button in order.
    await page.locator('body').focus();
    const order: Array<string | null> = [];
    for (let i = 0; i < 4; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await page.locator(':focus').getAttribute('id'));
    }
    expect(order).toEqual(['phone', 'send', 'code', 'verify']);

    expect(problems).toEqual([]);
    await page.context().close();
  });
});
