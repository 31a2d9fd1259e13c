import { parseArgs } from 'node:util';
import { enqueueStops } from '../lib/domain/enqueue.js';
import { signature } from '../lib/edge/http/caller-auth.js';
import { HELP_OPTION, parseCommandLineOrExit } from './cli.js';
import { divertFunctionLogs } from './function-logs.js';
import { MotoMissingError } from './moto.js';
import { exitOnSignals } from './signals.js';
import { startStack } from './stack.js';

/**
 * `npm run demo`: starts the local stack on free ports and drives all three paths end to end:
 * a signed webhook call, a queue message, and a reaper run; then prints every demo job's status.
 */
const USAGE = `usage: npm run demo [-- --help]

  Starts the local stack on free ports, stops a demo job each way (a signed webhook call, a queue
  message, a reaper run), prints every demo job's status and stops the stack. Function logs:
  .local/demo-functions.log.`;
parseCommandLineOrExit(USAGE, () =>
  parseArgs({ args: process.argv.slice(2), options: { ...HELP_OPTION }, strict: true }),
);

const say = (text: string) => process.stdout.write(`${text}\n`);
exitOnSignals();

let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack({ httpPort: 0, emulatorPort: 0, scheduleMs: 0 });
} catch (error) {
  if (error instanceof MotoMissingError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
divertFunctionLogs('.local/demo-functions.log');
const { emulator } = stack;
const idOf = (name: string) => emulator.store.all().find((job) => job.name === name)?.id ?? '';
const waitFor = async (what: string, done: () => boolean, timeoutMs = 20_000) => {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

try {
  say('\n1. Webhook: POST /jobs/{jobId}/stop, HMAC-signed');
  const httpJob = idOf('obs_lake_discovery');
  const body = JSON.stringify({ reason: 'demo: webhook' });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const response = await fetch(`${stack.httpUrl}/jobs/${httpJob}/stop`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Timestamp': timestamp,
      'X-Signature': signature(stack.config.webhook.hmacKeys[0] ?? '', timestamp, body),
    },
    body,
  });
  say(`   → HTTP ${response.status} ${await response.text()}`);

  say('\n2. Queue: one message on the stop queue');
  const queueJob = idOf('adhoc_table_discovery');
  await enqueueStops(stack.queueUrl, [{ jobId: queueJob, reason: 'demo: queue', source: 'demo' }], stack.sqs);
  await waitFor(
    'the queued stop',
    () => (emulator.store.get(stack.seed.instances[0] ?? '', queueJob)?.stopsAccepted ?? 0) > 0,
  );

  say('\n3. Reaper: one scheduled run (policy: local/seed/stack.json)');
  const before = emulator.store.all().filter((job) => job.stopsAccepted > 0).length;
  const summary = await stack.reap();
  const stale = (summary as { enqueued?: number }).enqueued ?? 0;
  await waitFor(
    'the reaper’s stops',
    () => emulator.store.all().filter((job) => job.stopsAccepted > 0).length >= before + stale,
  );

  say(`\nWaiting ${stack.config.stopDelayMs / 1000} s for LakeFormation to finish the stops…`);
  await new Promise((resolve) => setTimeout(resolve, stack.config.stopDelayMs + 200));
  say('\nDemo jobs now:');
  for (const job of emulator.store.all())
    say(`  ${job.status.padEnd(18)} ${job.name}${job.stopsAccepted ? '  (stopped by lf-job-stopper)' : ''}`);
  say('');
} finally {
  await stack.stop();
}
