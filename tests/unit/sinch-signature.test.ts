import {
  applicationAuthorization,
  contentMd5,
  safeEqual,
  signRequest,
  stringToSign,
  verifyApplicationSignature,
  type SignableRequest,
} from '../../src/clients/sinch/sinch.signer';

/** The published vectors of the reference (§7.3), byte for byte. */
const VECTORS: Array<{
  name: string;
  key: string;
  secret: string;
  request: SignableRequest;
  md5: string;
  authorization: string;
}> = [
  {
    name: 'A (Sinch Java SDK unit test)',
    key: 'my-key-id',
    secret: 'bXkta2V5LXNlY3JldA==',
    request: {
      method: 'POST',
      path: '/path/pathParamValue',
      contentType: 'application/json; charset=UTF-8',
      timestamp: '2023-11-22T09:10:11.999Z',
      body: '{"identity":{"type":"number","endpoint":"+33444555666"},"method":"sms"}',
    },
    md5: 'RkD29EocJh6t7zr5QfKM4g==',
    authorization: 'Application my-key-id:QP3OzQZVzRZAEev6DBLvJkgpiqyZPuXYsc7oyjUV0K8=',
  },
  {
    name: 'B (callback signing example)',
    key: '669E367E-6BBA-48AB-AF15-266871C28135',
    secret: 'BeIukql3pTKJ8RGL5zo0DA==',
    request: {
      method: 'POST',
      path: '/sinch/callback/ace',
      contentType: 'application/json',
      timestamp: '2014-09-24T10:59:41Z',
      body: '{"event":"ace","callid":"822aa4b7-05b4-4d83-87c7-1f835ee0b6f6_257","timestamp":"2014-09-24T10:59:41Z","version":1}',
    },
    md5: 'REWF+X220L4/Gw1spXOU7g==',
    authorization: 'Application 669E367E-6BBA-48AB-AF15-266871C28135:Tg6fMyo8mj9pYfWQ9ssbx3Tc1BNC87IEygAfLbJqZb4=',
  },
  {
    name: 'C (legacy signed request)',
    key: '5F5C418A0F914BBC8234A9BF5EDDAD97',
    secret: 'JViE5vDor0Sw3WllZka15Q==',
    request: {
      method: 'POST',
      path: '/v1/sms/+46700000000',
      contentType: 'application/json',
      timestamp: '2014-06-04T13:41:58Z',
      body: '{"message":"Hello world"}',
    },
    md5: 'jANzQ+rgAHyf1MWQFSwvYw==',
    authorization: 'Application 5F5C418A0F914BBC8234A9BF5EDDAD97:qDXMwzfaxCRS849c/2R0hg0nphgdHciTo7OdM6MsdnM=',
  },
  {
    name: 'D1 (GET status by id, no body)',
    key: 'my-key-id',
    secret: 'bXkta2V5LXNlY3JldA==',
    request: {
      method: 'GET',
      path: '/verification/v1/verifications/id/1234567890',
      contentType: 'application/json',
      timestamp: '2023-11-22T09:10:11.999Z',
      body: '',
    },
    md5: '',
    authorization: 'Application my-key-id:X1V6ydFMBnKYRWi8i+Lb17odn6px5goxLN5Ax5TV+oI=',
  },
  {
    name: 'D2 (PUT report by number)',
    key: 'my-key-id',
    secret: 'bXkta2V5LXNlY3JldA==',
    request: {
      method: 'PUT',
      path: '/verification/v1/verifications/number/+46700000000',
      contentType: 'application/json',
      timestamp: '2023-11-22T09:10:11.999Z',
      body: '{"sms":{"code":"1234"},"method":"sms"}',
    },
    md5: 'HDH+GrIYXDv3ocnAxme60g==',
    authorization: 'Application my-key-id:GgVlPWPzyx8PWcuyrmHujqCkIgBZzkzVMrWNTPYYeNA=',
  },
];

describe('Sinch application signature: published vectors', () => {
  test.each(VECTORS)(
    'When vector $name is signed, then Content-MD5 and the Authorization header match the reference',
    ({ key, secret, request, md5, authorization }) => {
      expect(contentMd5(request.body)).toBe(md5);
      expect(applicationAuthorization(request, key, secret)).toBe(authorization);
    },
  );

  test.each(VECTORS)(
    'When vector $name is given as a Buffer body, then the signature is the same',
    ({ secret, request, authorization }) => {
      expect(signRequest({ ...request, body: Buffer.from(request.body as string, 'utf8') }, secret)).toBe(
        authorization.split(':').at(-1),
      );
    },
  );

  test.each(VECTORS)(
    'When vector $name is verified at its own timestamp, then it is accepted',
    ({ key, secret, request, authorization }) => {
      const check = verifyApplicationSignature(
        authorization,
        request,
        { applicationKey: key, applicationSecret: secret },
        { nowMs: Date.parse(request.timestamp), maxSkewSeconds: 600 },
      );

      expect(check).toEqual({ ok: true, applicationKey: key });
    },
  );

  test('When the string to sign is built, then it is verb, MD5, content type, x-timestamp and path joined by newlines', () => {
    const a = VECTORS[0]!;

    expect(stringToSign({ ...a.request, method: 'post' })).toBe(
      [
        'POST',
        'RkD29EocJh6t7zr5QfKM4g==',
        'application/json; charset=UTF-8',
        'x-timestamp:2023-11-22T09:10:11.999Z',
        '/path/pathParamValue',
      ].join('\n'),
    );
  });
});

describe('verifyApplicationSignature', () => {
  const { key, secret, request, authorization } = VECTORS[1]!;
  const credentials = { applicationKey: key, applicationSecret: secret };
  const at = { nowMs: Date.parse(request.timestamp), maxSkewSeconds: 600 };

  test('When the scheme name has another case and extra whitespace, then the header is still accepted', () => {
    expect(
      verifyApplicationSignature(
        `  application ${authorization.slice('Application '.length)}  `,
        request,
        credentials,
        at,
      ),
    ).toEqual({ ok: true, applicationKey: key });
  });

  test.each([
    ['the body was changed', { body: (request.body as string).replace('"version":1', '"version":2') }],
    ['the path was changed', { path: '/sinch/callback/other' }],
    ['the method was changed', { method: 'PUT' }],
    ['the content type was changed', { contentType: 'application/json; charset=utf-8' }],
    ['the timestamp was changed by a second', { timestamp: '2014-09-24T10:59:42Z' }],
  ])('When %s after signing, then bad_signature', (_what, change) => {
    expect(verifyApplicationSignature(authorization, { ...request, ...change }, credentials, at)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  test('When the signature was made with another secret, then bad_signature', () => {
    const forged = applicationAuthorization(request, key, Buffer.from('another secret').toString('base64'));

    expect(verifyApplicationSignature(forged, request, credentials, at)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  test('When the key is not ours, then unknown_key', () => {
    const other = applicationAuthorization(request, 'someone-else', secret);

    expect(verifyApplicationSignature(other, request, credentials, at)).toEqual({ ok: false, reason: 'unknown_key' });
  });

  test.each([
    ['more than the allowed skew in the past', 601_000],
    ['more than the allowed skew in the future', -601_000],
  ])('When the timestamp is %s, then stale_timestamp', (_what, offsetMs) => {
    expect(
      verifyApplicationSignature(authorization, request, credentials, {
        nowMs: at.nowMs + offsetMs,
        maxSkewSeconds: 600,
      }),
    ).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  test('When the timestamp is exactly at the allowed skew, then it is accepted', () => {
    expect(
      verifyApplicationSignature(authorization, request, credentials, {
        nowMs: at.nowMs + 600_000,
        maxSkewSeconds: 600,
      }),
    ).toMatchObject({ ok: true });
  });

  test('When a correctly signed timestamp is not a date, then stale_timestamp', () => {
    const odd = { ...request, timestamp: 'yesterday' };

    expect(verifyApplicationSignature(applicationAuthorization(odd, key, secret), odd, credentials, at)).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
  });

  test.each([
    ['missing', undefined, 'missing_header'],
    ['empty', '', 'missing_header'],
    ['Basic', 'Basic abc:def', 'malformed_header'],
    ['public (no signature)', `Application ${key}`, 'malformed_header'],
    ['without a key', 'Application :sig', 'malformed_header'],
    ['with spaces in the signature', `Application ${key}:a b`, 'malformed_header'],
    ['just the scheme', 'Application', 'malformed_header'],
  ])('When the header is %s, then %s', (_what, header, reason) => {
    expect(verifyApplicationSignature(header, request, credentials, at)).toEqual({ ok: false, reason });
  });

  test('When the x-timestamp header is missing, then missing_timestamp', () => {
    expect(verifyApplicationSignature(authorization, { ...request, timestamp: '' }, credentials, at)).toEqual({
      ok: false,
      reason: 'missing_timestamp',
    });
  });
});

describe('safeEqual', () => {
  test.each([
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['abc', 'abcd', false],
    ['', '', true],
    ['å', 'a', false],
  ])('When %j is compared with %j, then %s', (a, b, equal) => {
    expect(safeEqual(a, b)).toBe(equal);
  });
});
