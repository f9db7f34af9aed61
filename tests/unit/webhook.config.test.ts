import { loadConfig, secretValues } from '../../src/config';
import { problemsOf } from '../helpers/config';

/** The Standard Webhooks spec's example secret (24 bytes). */
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const URL = 'https://backend.example.com/hooks/otp';

describe('loadConfig: webhooks', () => {
  test('When neither WEBHOOK_URL nor WEBHOOK_SECRET is set, then webhooks are off with the documented defaults', () => {
    expect(loadConfig({}).webhooks).toEqual({
      enabled: false,
      url: '',
      secret: '',
      retryDelaysSeconds: [5, 30, 120, 600, 1800, 7200, 21600, 86400],
      timeoutMs: 5000,
      concurrency: 4,
      pollIntervalMs: 1000,
    });
  });

  test('When both are set, then webhooks are on and the secret (with and without its prefix) is scrubbed from logs', () => {
    const config = loadConfig({ WEBHOOK_URL: URL, WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_DELAYS_SECONDS: '0.5, 2,10' });

    expect(config.webhooks).toMatchObject({
      enabled: true,
      url: URL,
      secret: SECRET,
      retryDelaysSeconds: [0.5, 2, 10],
    });
    expect(secretValues(config)).toEqual(expect.arrayContaining([SECRET, SECRET.slice('whsec_'.length)]));
  });

  test.each([
    [{ WEBHOOK_URL: URL }, 'WEBHOOK_URL and WEBHOOK_SECRET go together'],
    [{ WEBHOOK_SECRET: SECRET }, 'WEBHOOK_URL and WEBHOOK_SECRET go together'],
    [{ WEBHOOK_URL: URL, WEBHOOK_SECRET: SECRET.slice('whsec_'.length) }, 'WEBHOOK_SECRET must be whsec_'],
    [{ WEBHOOK_URL: URL, WEBHOOK_SECRET: 'whsec_c2hvcnQ=' }, 'WEBHOOK_SECRET must be whsec_'],
    [{ WEBHOOK_URL: URL, WEBHOOK_SECRET: 'whsec_not base64!' }, 'WEBHOOK_SECRET must be whsec_'],
    [{ WEBHOOK_URL: 'ftp://x' }, 'WEBHOOK_URL: must be an http(s) URL'],
    [{ WEBHOOK_RETRY_DELAYS_SECONDS: '5,soon' }, 'WEBHOOK_RETRY_DELAYS_SECONDS: must be a comma list'],
    [{ WEBHOOK_RETRY_DELAYS_SECONDS: '5,-1' }, 'WEBHOOK_RETRY_DELAYS_SECONDS: must be a comma list'],
    [{ WEBHOOK_TIMEOUT_MS: '10' }, 'WEBHOOK_TIMEOUT_MS: must be a whole number between 100 and 60000'],
  ])('When %j, then the configuration is refused naming the problem', (env, problem) => {
    expect(problemsOf(env)).toEqual([expect.stringContaining(problem)]);
  });

  test('When NODE_ENV=production, then WEBHOOK_URL must be https (or http to a loopback host)', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://app:pw@db.internal:5432/otp',
      SINCH_APPLICATION_KEY: 'key',
      SINCH_APPLICATION_SECRET: Buffer.from('a-real-looking-secret').toString('base64'),
      WEBHOOK_SECRET: SECRET,
      VERIFICATION_TOKEN_PRIVATE_KEY_FILE: '/run/secrets/verification-token-key.pem',
    };

    expect(problemsOf({ ...production, WEBHOOK_URL: 'http://backend.example.com/hooks' })).toEqual([
      expect.stringContaining('WEBHOOK_URL must be https:// when NODE_ENV=production'),
    ]);
    expect(loadConfig({ ...production, WEBHOOK_URL: URL }).webhooks.enabled).toBe(true);
    expect(loadConfig({ ...production, WEBHOOK_URL: 'http://127.0.0.1:8080/hooks' }).webhooks.enabled).toBe(true);
  });
});
