import { ConfigError } from '../config';

/**
 * Runs a script's `main` and exits with its code. A bad configuration prints ConfigError's list of
 * problems; anything else thrown prints as one line. Either way the exit code is 1.
 */
export function runScript(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
