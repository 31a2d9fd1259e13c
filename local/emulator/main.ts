import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HELP_OPTION, listenProblem, parseCommandLine, portNumber, runCli, UsageError } from '../cli.js';
import { exitOnSignals } from '../signals.js';
import { type EmulatorOptions, startEmulator } from './server.js';

const DEFAULT_SEED = fileURLToPath(new URL('../seed/demo.json', import.meta.url));

const USAGE = `usage: npm run emulator -- [--port 4010] [--seed local/seed/demo.json]

The LakeFormation + IAM emulator on its own, on 127.0.0.1.
  --port   the port to listen on (0: any free port)          default 4010
  --seed   a JSON file of emulator options: projectId, instances, users, accessKeys, jobs, settings
           default local/seed/demo.json
  -h, --help   this text`;

async function readSeed(path: string): Promise<EmulatorOptions> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--seed ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let seed: unknown;
  try {
    seed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--seed ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const options = seed as Partial<EmulatorOptions> | null;
  if (
    typeof options !== 'object' ||
    options === null ||
    typeof options.projectId !== 'string' ||
    !Array.isArray(options.instances) ||
    !Array.isArray(options.users)
  ) {
    throw new UsageError(`--seed ${path} must be an object with projectId, instances and users`);
  }
  return options as EmulatorOptions;
}

runCli(async () => {
  const { values } = parseCommandLine(USAGE, () =>
    parseArgs({
      args: process.argv.slice(2),
      options: {
        ...HELP_OPTION,
        port: { type: 'string', default: '4010' },
        seed: { type: 'string', default: DEFAULT_SEED },
      },
      strict: true,
    }),
  );
  const port = portNumber('--port', values.port);
  const seed = await readSeed(values.seed);
  const emulator = await startEmulator({ ...seed, port }).catch((error: unknown) => {
    throw listenProblem(error, port, 'the emulator cannot listen');
  });
  // before anything is printed: a caller that stops it as soon as it is ready must get a clean exit
  exitOnSignals(() => emulator.close(), { exitCode: 0 });
  console.log(`LakeFormation + IAM emulator on ${emulator.url}`);
  console.log(`  project ${emulator.projectId}, instances ${emulator.instances.join(', ')}`);
  console.log(
    `  ${emulator.store.all().length} jobs seeded from ${values.seed}; admin API under ${emulator.url}/_admin/`,
  );
  return undefined;
});
