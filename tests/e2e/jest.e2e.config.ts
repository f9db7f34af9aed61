import type { Config } from 'jest';

/**
 * The browser end-to-end suite: `jest -c tests/e2e/jest.e2e.config.ts`. Its files end in `.e2e.ts`,
 * which the main config's `*.test.ts` never matches, so `npm test` stays browser-free.
 */
const config: Config = {
  rootDir: '../..',
  testEnvironment: 'node',
  roots: ['<rootDir>/tests/e2e'],
  testMatch: ['**/*.e2e.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  // The service serves the demo page from dist/public: build it first.
  globalSetup: '<rootDir>/tests/helpers/build-page.ts',
  // Starting the service (PGlite, tsx) and Chromium takes seconds, not milliseconds.
  testTimeout: 60_000,
  // One service and one browser: files run one after the other.
  maxWorkers: 1,
};

export default config;
