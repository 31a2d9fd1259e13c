/**
 * Bulk throughput: one SQS event with every job of BENCH_JOBS through the queue function, then the
 * same number of stops (BENCH_BARE_JOBS) made at the same concurrency, first with bare `fetch` alone
 * (the practical ceiling of this machine and emulator), then with the same ledger writes, confirm
 * message and event per stop as the function, made with bare clients (BENCH_SAME_JOBS).
 */
import { bareAws, context, peakRssMiB, report, sample } from './common.mjs';

const { handler } = await import(process.env.BENCH_BUNDLE);
const template = sample('sqs-stop-batch').Records[0];
const records = (process.env.BENCH_JOBS ?? '').split(',').map((jobId, i) => ({
  ...template,
  messageId: `bench-${i}`,
  receiptHandle: `bench-${i}`,
  body: JSON.stringify({ jobId, source: 'bench' }),
}));
const aws = await bareAws();
await aws.conditionalPut();
await aws.purgeConfirmQueue();
const start = performance.now();
const response = await handler({ Records: records }, context(900_000, 'bulkStop'));
const wallMs = performance.now() - start;

const iam = await fetch(`${process.env.HUAWEICLOUD_IAM_ENDPOINT}/v3/auth/tokens`, {
  method: 'POST',
  body: process.env.BENCH_IAM_BODY,
});
const token = iam.headers.get('x-subject-token');
const base = `${process.env.LAKEFORMATION_ENDPOINT}/v1/${process.env.LAKEFORMATION_PROJECT_ID}/instances/${process.env.LAKEFORMATION_INSTANCE_ID}/lf-jobs`;
const stop = async (jobId) => {
  const res = await fetch(`${base}/${jobId}/stop`, { method: 'POST', headers: { 'X-Auth-Token': token } });
  await res.arrayBuffer();
};
/** `jobs` stopped by `one` at STOP_CONCURRENCY; the wall time. */
async function atConcurrency(jobs, one) {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Number(process.env.STOP_CONCURRENCY) }, async () => {
      while (next < jobs.length) await one(jobs[next++]);
    }),
  );
  return performance.now() - start;
}
const bareWallMs = await atConcurrency((process.env.BENCH_BARE_JOBS ?? '').split(','), stop);
await aws.purgeConfirmQueue();
const sameCallsWallMs = await atConcurrency((process.env.BENCH_SAME_JOBS ?? '').split(','), async (jobId) => {
  await aws.claim(jobId);
  await stop(jobId);
  await aws.record(jobId);
});
report({
  wallMs,
  bareWallMs,
  sameCallsWallMs,
  messages: records.length,
  failures: response.batchItemFailures.length,
  peakRssMiB: peakRssMiB(),
});
process.exit(0);
