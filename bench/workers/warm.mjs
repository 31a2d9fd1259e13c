/**
 * Warm overhead: the HTTP function stopping one job, against the same stop made with a bare `fetch`,
 * alternating, after one warm-up invocation. Env: BENCH_BUNDLE, BENCH_JOBS (comma list), BENCH_HMAC_KEY,
 * BENCH_IAM_BODY (the IAM sign-in body for the bare client).
 */
import { createHmac } from 'node:crypto';
import { context, peakRssMiB, report, sample } from './common.mjs';

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

let next = 0;
const take = () => jobs[next++];
const handlerMs = [];
const bareMs = [];
await handler(signedEvent(take()), context(20_000, 'stopJob'));
while (next + 2 <= jobs.length) {
  let start = performance.now();
  const response = await handler(signedEvent(take()), context(20_000, 'stopJob'));
  handlerMs.push(performance.now() - start);
  if (response.statusCode !== 202) throw new Error(`handler answered ${response.statusCode}`);
  start = performance.now();
  const bare = await fetch(`${endpoint}/v1/${project}/instances/${instance}/lf-jobs/${take()}/stop`, {
    method: 'POST',
    headers: { 'X-Auth-Token': token },
  });
  await bare.arrayBuffer();
  bareMs.push(performance.now() - start);
  if (bare.status !== 202) throw new Error(`bare fetch answered ${bare.status}`);
}
report({ handlerMs, bareMs, peakRssMiB: peakRssMiB() });
process.exit(0);
