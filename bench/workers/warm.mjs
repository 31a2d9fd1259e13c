/**
 * Warm overhead: the HTTP function stopping one job, against, in turn: the same stop made with a bare
 * `fetch`; one bare DynamoDB conditional put against the same moto; and the same calls the function
 * makes (the signature's use, the claim, the stop, the record, the claim settled, the first check
 * and the event) made with bare clients. After one warm-up invocation. Env: BENCH_BUNDLE, BENCH_JOBS
 * (comma list, three per round), BENCH_HMAC_KEY, BENCH_IAM_BODY (the IAM sign-in body for the bare
 * client), and those of `bareAws`.
 */
import { createHmac } from 'node:crypto';
import { bareAws, context, peakRssMiB, report, sample } from './common.mjs';

const { handler } = await import(process.env.BENCH_BUNDLE);
const jobs = (process.env.BENCH_JOBS ?? '').split(',');
const base = sample('http-stop-job-bearer');
const endpoint = process.env.LAKEFORMATION_ENDPOINT;
const project = process.env.LAKEFORMATION_PROJECT_ID;
const instance = process.env.LAKEFORMATION_INSTANCE_ID;

function signedEvent(jobId) {
  const body = '{"reason":"bench"}';
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', process.env.BENCH_HMAC_KEY ?? '')
    .update(`${ts}.${body}`)
    .digest('hex');
  return {
    ...base,
    headers: { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': `sha256=${sig}` },
    body,
    // API Gateway's rawPath names the job: a signature is good for one request per path
    rawPath: `/jobs/${jobId}/stop`,
    pathParameters: { jobId },
  };
}

const iam = await fetch(`${process.env.HUAWEICLOUD_IAM_ENDPOINT}/v3/auth/tokens`, {
  method: 'POST',
  body: process.env.BENCH_IAM_BODY,
});
const token = iam.headers.get('x-subject-token');

const aws = await bareAws();
const bareStop = async (jobId) => {
  const bare = await fetch(`${endpoint}/v1/${project}/instances/${instance}/lf-jobs/${jobId}/stop`, {
    method: 'POST',
    headers: { 'X-Auth-Token': token },
  });
  await bare.arrayBuffer();
  if (bare.status !== 202) throw new Error(`bare fetch answered ${bare.status}`);
};
const timed = async (run) => {
  const start = performance.now();
  await run();
  return performance.now() - start;
};

let next = 0;
const take = () => jobs[next++];
const handlerMs = [];
const bareMs = [];
const bareDynamoMs = [];
const sameCallsMs = [];
await handler(signedEvent(take()), context(20_000, 'stopJob'));
await aws.conditionalPut();
while (next + 3 <= jobs.length) {
  handlerMs.push(
    await timed(async () => {
      const response = await handler(signedEvent(take()), context(20_000, 'stopJob'));
      if (response.statusCode !== 202) throw new Error(`handler answered ${response.statusCode}`);
    }),
  );
  bareMs.push(await timed(() => bareStop(take())));
  bareDynamoMs.push(await timed(() => aws.conditionalPut()));
  const jobId = take();
  sameCallsMs.push(
    await timed(async () => {
      await aws.conditionalPut();
      await aws.claim(jobId);
      await bareStop(jobId);
      await aws.record(jobId);
    }),
  );
}
report({ handlerMs, bareMs, bareDynamoMs, sameCallsMs, peakRssMiB: peakRssMiB() });
process.exit(0);
