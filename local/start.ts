import { readFile } from 'node:fs/promises';
import { type EmulatorOptions, startEmulator } from './emulator/server.js';
import { MotoMissingError, startMoto } from './moto.js';

/**
 * `npm start`: the local stack on an embedded default. Starts the LakeFormation + IAM emulator
 * seeded with demo jobs and a moto server for the AWS side, prints where they are, and stops both
 * on Ctrl-C.
 */
const seed = JSON.parse(
  await readFile(new URL('./seed/demo.json', import.meta.url), 'utf8'),
) as EmulatorOptions;

let moto: Awaited<ReturnType<typeof startMoto>>;
try {
  moto = await startMoto();
} catch (error) {
  if (error instanceof MotoMissingError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
const emulator = await startEmulator({ ...seed, port: Number(process.env.EMULATOR_PORT ?? 4010) });

console.log(`LakeFormation + IAM emulator  ${emulator.url}  (admin: ${emulator.url}/_admin/jobs)`);
console.log(`moto (SQS, Secrets Manager)   ${moto.url}`);
console.log(
  `demo project ${emulator.projectId}, instance ${emulator.instances[0]}, ${emulator.store.all().length} jobs`,
);
console.log('Ctrl-C stops everything.');

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([emulator.close(), moto.stop()]);
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
