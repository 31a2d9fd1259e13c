/**
 * Throttling: one batch of BENCH_JOBS through the queue function's code path (bench/throttle.ts)
 * against an emulator that accepts R calls per second, with flow control (BENCH_FLOW=on) or without.
 */
import { context, peakRssMiB, report, sample } from './common.mjs';

const { run } = await import(process.env.BENCH_BUNDLE);
const template = sample('sqs-stop-batch').Records[0];
const records = (process.env.BENCH_JOBS ?? '').split(',').map((jobId, i) => ({
  ...template,
  messageId: `throttle-${i}`,
  receiptHandle: `throttle-${i}`,
  body: JSON.stringify({ jobId, source: 'bench' }),
}));
const start = performance.now();
const reports = await run(
  records,
  process.env.BENCH_FLOW === 'on',
  Date.now() + context(900_000).getRemainingTimeInMillis() - 5_000,
);
const wallMs = performance.now() - start;
report({
  wallMs,
  messages: records.length,
  stopped: reports.filter((r) => r.outcome === 'STOP_REQUESTED').length,
  retried: reports.filter((r) => r.disposition === 'retry').length,
  peakRssMiB: peakRssMiB(),
});
process.exit(0);
