/**
 * Bulk throughput: one SQS event with every job of BENCH_JOBS through the queue function, then the
 * same number of stops (BENCH_BARE_JOBS) made with bare `fetch` at the same concurrency: the
 * practical ceiling of this machine and emulator.
 */
import { context, peakRssMiB, report, sample } from './common.mjs';

const { handler } = await import(process.env.BENCH_BUNDLE);
const template = sample('sqs-stop-batch').Records[0];
const records = (process.env.BENCH_JOBS ?? '').split(',').map((jobId, i) => ({
  ...template,
  messageId: `bench-${i}`,
  receiptHandle: `bench-${i}`,
  body: JSON.stringify({ jobId, source: 'bench' }),
}));
let start = performance.now();
const response = await handler({ Records: records }, context(900_000, 'bulkStop'));
const wallMs = performance.now() - start;

const iam = await fetch(`${process.env.HUAWEICLOUD_IAM_ENDPOINT}/v3/auth/tokens`, {
  method: 'POST',
  body: process.env.BENCH_IAM_BODY,
});
const token = iam.headers.get('x-subject-token');
const base = `${process.env.LAKEFORMATION_ENDPOINT}/v1/${process.env.LAKEFORMATION_PROJECT_ID}/instances/${process.env.LAKEFORMATION_INSTANCE_ID}/lf-jobs`;
const bare = (process.env.BENCH_BARE_JOBS ?? '').split(',');
let next = 0;
start = performance.now();
await Promise.all(
  Array.from({ length: Number(process.env.STOP_CONCURRENCY) }, async () => {
    while (next < bare.length) {
      const res = await fetch(`${base}/${bare[next++]}/stop`, {
        method: 'POST',
        headers: { 'X-Auth-Token': token },
      });
      await res.arrayBuffer();
    }
  }),
);
const bareWallMs = performance.now() - start;
report({
  wallMs,
  bareWallMs,
  messages: records.length,
  failures: response.batchItemFailures.length,
  peakRssMiB: peakRssMiB(),
});
process.exit(0);
