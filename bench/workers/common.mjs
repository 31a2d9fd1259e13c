/** Shared by the benchmark workers: each runs in its own `node` process, like a Lambda container. */
import { readFileSync, writeFileSync } from 'node:fs';

export function context(timeoutMs = 60_000, name = 'bench') {
  const endsAt = Date.now() + timeoutMs;
  return {
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: `bench-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'bench',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()),
  };
}

export function sample(name) {
  return JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8'));
}

/** Peak resident set size of this process, in MiB. */
export function peakRssMiB() {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Written to `BENCH_RESULT_FILE`: stdout is a pipe full of log lines that `process.exit` may cut short.
 * Runs timed from outside only (INIT, warm-ups) set no file and report nothing.
 */
export function report(result) {
  const file = process.env.BENCH_RESULT_FILE;
  if (file) writeFileSync(file, JSON.stringify(result));
}
