import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { HELP_OPTION, parseCommandLine, runCli, UsageError } from './cli.js';
import { lambdaContext } from './lambda-context.js';
import { MotoMissingError } from './moto.js';
import { exitOnSignals } from './signals.js';
import { FUNCTION_TIMEOUTS_MS, type StackHandlers, startStack } from './stack.js';

/**
 * `npm run invoke -- <function> <event.json | ->`: the quick way to make one invocation of a
 * function's real handler with an event (the samples in events/, or your own): it runs the
 * TypeScript sources against a local stack it starts for the call and stops afterwards, so nothing
 * needs to be running. The function's log lines go to stderr, its result alone to stdout.
 * `serverless invoke local --stage local` is the way to run the bundles as Lambda would, against a
 * running `npm start` (docs/local.md).
 */

const USAGE = `usage: npm run invoke -- <${Object.keys(FUNCTION_TIMEOUTS_MS).join('|')}> <event.json, or - for stdin>

  e.g. npm run invoke -- bulkStop events/sqs-stop-batch.json
       npm run invoke -- stopJob events/http-stop-job-bearer.json`;

type FunctionName = keyof StackHandlers;
const isFunction = (name: string | undefined): name is FunctionName =>
  name !== undefined && Object.hasOwn(FUNCTION_TIMEOUTS_MS, name);

async function readEvent(path: string): Promise<unknown> {
  let text: string;
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    text = await readFile(path, 'utf8');
  }
  return JSON.parse(text);
}

async function main(argv: string[]): Promise<number> {
  const { positionals } = parseCommandLine(USAGE, () =>
    parseArgs({ args: argv, options: { ...HELP_OPTION }, allowPositionals: true, strict: true }),
  );
  const [name, eventPath, ...rest] = positionals;
  if (name !== undefined && !isFunction(name)) {
    const known = Object.keys(FUNCTION_TIMEOUTS_MS);
    const near = known.find((fn) => fn.toLowerCase() === name.toLowerCase());
    throw new UsageError(
      `no function ${JSON.stringify(name)}${near ? ` (did you mean ${near}?)` : ''}; one of ${known.join(', ')}`,
    );
  }
  if (!isFunction(name) || eventPath === undefined || rest.length > 0) {
    throw new UsageError(`give a function and one event\n\n${USAGE}`);
  }
  let event: unknown;
  try {
    event = await readEvent(eventPath);
  } catch (error) {
    throw new UsageError(`cannot read the event ${eventPath}: ${(error as Error).message}`);
  }

  // The functions log to stdout; here stdout is for the result only.
  const writeOut = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    stack = await startStack({ httpPort: 0, emulatorPort: 0, scheduleMs: 0 });
  } catch (error) {
    if (error instanceof MotoMissingError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  try {
    const handler = stack.handlers[name] as (event: unknown, context: unknown) => Promise<unknown>;
    const result = await handler(event, lambdaContext(name, FUNCTION_TIMEOUTS_MS[name]));
    writeOut(`${JSON.stringify(result ?? null, null, 2)}\n`);
    return 0;
  } catch (error) {
    // As Lambda reports a handler that throws.
    const failure =
      error instanceof Error ? { errorType: error.name, errorMessage: error.message } : { error };
    writeOut(`${JSON.stringify(failure, null, 2)}\n`);
    return 1;
  } finally {
    await stack.stop();
  }
}

exitOnSignals();
runCli(() => main(process.argv.slice(2)));
