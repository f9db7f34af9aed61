import { CLI_DEFAULTS, emulatorOptionsFromEnv } from '../../src/emulator/cli';

describe('emulatorOptionsFromEnv', () => {
  test('When nothing is set, then the documented defaults', () => {
    expect(emulatorOptionsFromEnv({})).toEqual({
      ok: true,
      options: {
        applicationKey: 'emulator-key',
        applicationSecret: 'ZW11bGF0b3Itc2VjcmV0',
        host: '127.0.0.1',
        port: 4010,
        codeLength: 4,
        wrongCodeById: 'fail',
        printCodes: true,
        sandbox: true,
      },
    });
    expect(Buffer.from(CLI_DEFAULTS.applicationSecret, 'base64').toString()).toBe('emulator-secret');
  });

  test('When every variable is set, then each is used', () => {
    const result = emulatorOptionsFromEnv({
      SINCH_EMULATOR_PORT: '0',
      SINCH_EMULATOR_HOST: '0.0.0.0',
      SINCH_EMULATOR_KEY: 'k',
      SINCH_EMULATOR_SECRET: 'c2VjcmV0',
      SINCH_EMULATOR_CALLBACK_URL: 'http://localhost:3000/sinch/callbacks',
      SINCH_EMULATOR_WRONG_CODE: '40003',
      SINCH_EMULATOR_PRINT_CODES: 'false',
      SINCH_EMULATOR_SANDBOX: 'no',
      SINCH_EMULATOR_CODE_LENGTH: '6',
      SINCH_EMULATOR_UNDELIVERED_NUMBERS: ' +46701234567, +15555550100 ',
    });

    expect(result).toEqual({
      ok: true,
      options: {
        applicationKey: 'k',
        applicationSecret: 'c2VjcmV0',
        host: '0.0.0.0',
        port: 0,
        codeLength: 6,
        wrongCodeById: '40003',
        printCodes: false,
        sandbox: false,
        undeliveredNumbers: ['+46701234567', '+15555550100'],
        callbackUrl: 'http://localhost:3000/sinch/callbacks',
      },
    });
  });

  test('When several variables are wrong, then every problem is reported at once, without echoing the secret', () => {
    const result = emulatorOptionsFromEnv({
      SINCH_EMULATOR_PORT: '70000',
      SINCH_EMULATOR_SECRET: 'not base64!',
      SINCH_EMULATOR_WRONG_CODE: 'maybe',
      SINCH_EMULATOR_CALLBACK_URL: 'ftp://x',
      SINCH_EMULATOR_PRINT_CODES: 'sometimes',
      SINCH_EMULATOR_UNDELIVERED_NUMBERS: '+46701234567,0701234567',
    });

    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors).toHaveLength(6);
    expect(errors).toContain(
      'SINCH_EMULATOR_UNDELIVERED_NUMBERS: "0701234567" is not an E.164 number such as +46701234567',
    );
    expect(errors.join('\n')).not.toContain('not base64!');
  });
});
