/**
 * What the local command-line tools share: flags checked with a message that names the value and the
 * fix, `--help`, and no stack trace for a user's mistake. Imports nothing from `lib/`.
 */

/** A mistake of the user's (a flag, a value, a file): reported in one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The `--help`/`-h` flag every tool takes; spread into the options given to `parseArgs`. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Runs `parse` (a `parseArgs` call whose options include {@link HELP_OPTION}, `strict`): `--help`
 * prints `usage` and exits 0; an unknown flag, a missing value or a stray argument becomes a
 * {@link UsageError} that quotes it, followed by the usage.
 *
 * @example
 * const { values } = parseCommandLine(USAGE, () =>
 *   parseArgs({ args: argv, options: { ...HELP_OPTION, port: { type: 'string' } }, strict: true }));
 */
export function parseCommandLine<T extends { values: { help?: boolean | undefined } }>(
  usage: string,
  parse: () => T,
): T {
  let parsed: T;
  try {
    parsed = parse();
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, '');
    throw new UsageError(`${message}\n\n${usage}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return parsed;
}

/**
 * {@link parseCommandLine} for a script whose work starts at its top level (`npm start`, the demo,
 * the bench): a usage error is printed as `error: <message>` and the process exits 2 there, before
 * anything is started.
 */
export function parseCommandLineOrExit<T extends { values: { help?: boolean | undefined } }>(
  usage: string,
  parse: () => T,
): T {
  try {
    return parseCommandLine(usage, parse);
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exit(2);
  }
}

/** A TCP port from a flag or variable: an integer from 0 (any free port) to 65535. */
export function portNumber(name: string, raw: string): number {
  if (!/^\d{1,5}$/.test(raw.trim()) || Number(raw) > 65535) {
    throw new UsageError(`${name} must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** Why a server could not listen, in words (a busy port, a port that needs privileges). */
export function listenProblem(error: unknown, port: number, what: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new UsageError(`${what}: port ${port} is in use; choose another`);
  if (code === 'EACCES')
    return new UsageError(`${what}: port ${port} needs privileges; choose one above 1023`);
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Runs a tool's `main`: its result is the exit code; a {@link UsageError} is printed as
 * `error: <message>` with exit code 2, any other failure as `error: <message>` with exit code 1 (its
 * stack only with `DEBUG=1`).
 */
export function runCli(main: () => Promise<number | undefined>): void {
  main().then(
    (code) => {
      if (code !== undefined) process.exitCode = code;
    },
    (error: unknown) => {
      const usage = error instanceof UsageError;
      const shown = process.env.DEBUG === '1' && error instanceof Error && !usage ? error.stack : undefined;
      process.stderr.write(`error: ${shown ?? (error as Error).message ?? String(error)}\n`);
      process.exitCode = usage ? 2 : 1;
    },
  );
}
