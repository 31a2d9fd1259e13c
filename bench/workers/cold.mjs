/**
 * One cold start: `node cold.mjs <bundle|none> <init|invoke> <function> [jobId]`. The parent times from
 * spawn to the `done` this writes on fd 3; `none` measures a bare node start running this same file.
 */
import { createHmac } from 'node:crypto';
import { writeSync } from 'node:fs';
import { context, report, sample } from './common.mjs';

const [bundle, mode, fn, jobId] = process.argv.slice(2);

function event() {
  if (fn === 'stopJob') {
    const base = sample('http-stop-job-bearer');
    const body = '{"reason":"bench"}';
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = createHmac('sha256', process.env.BENCH_HMAC_KEY ?? '')
      .update(`${ts}.${body}`)
      .digest('hex');
    const headers = { 'content-type': 'application/json', 'x-timestamp': ts, 'x-signature': `sha256=${sig}` };
    // the path API Gateway would pass for this job: a signature is single-use per method and path
    const path = `/jobs/${jobId}/stop`;
    const requestContext = { ...base.requestContext, http: { ...base.requestContext.http, path } };
    return { ...base, rawPath: path, requestContext, headers, body, pathParameters: { jobId } };
  }
  if (fn === 'bulkStop') {
    const base = sample('sqs-stop-batch');
    return { Records: [{ ...base.Records[0], body: JSON.stringify({ jobId, source: 'bench' }) }] };
  }
  return sample('schedule');
}

const phases = { importMs: 0, invokeMs: 0 };
if (bundle !== 'none') {
  let start = performance.now();
  const module = await import(bundle);
  phases.importMs = performance.now() - start;
  if (mode === 'invoke') {
    start = performance.now();
    const result = await module.handler(event(), context(60_000, fn));
    phases.invokeMs = performance.now() - start;
    const ok =
      fn === 'stopJob'
        ? result.statusCode === 202
        : fn === 'bulkStop'
          ? result.batchItemFailures.length === 0
          : true;
    if (!ok) {
      process.stderr.write(`unexpected result: ${JSON.stringify(result)}\n`);
      process.exit(1);
    }
  }
}
report(phases);
// Done: tell the parent on fd 3. A Lambda is frozen here; a process still has to exit, which after
// `fetch` waits for V8's background compilation of undici's WebAssembly parser. That is not INIT.
writeSync(3, 'done\n');
process.exit(0);
