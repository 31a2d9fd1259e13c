import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exitOnSignals } from '../signals.js';
import { type EmulatorOptions, startEmulator } from './server.js';

/** `npm run emulator -- [--port 4010] [--seed local/seed/demo.json]`: the emulator on its own. */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4010' },
    seed: { type: 'string', default: fileURLToPath(new URL('../seed/demo.json', import.meta.url)) },
  },
});

const seed = JSON.parse(await readFile(values.seed, 'utf8')) as EmulatorOptions;
const emulator = await startEmulator({ ...seed, port: Number(values.port) });
console.log(`LakeFormation + IAM emulator on ${emulator.url}`);
console.log(`  project ${emulator.projectId}, instances ${emulator.instances.join(', ')}`);
console.log(
  `  ${emulator.store.all().length} jobs seeded from ${values.seed}; admin API under ${emulator.url}/_admin/`,
);

exitOnSignals(() => emulator.close(), { exitCode: 0 });
