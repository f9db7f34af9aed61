import { ConfigError, loadConfig, type RawEnv } from '../../src/config';

/** The problems a ConfigError lists; fails the test when the configuration loads. */
export function problemsOf(env: RawEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}
