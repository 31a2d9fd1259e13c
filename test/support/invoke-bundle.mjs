/**
 * `node invoke-bundle.mjs <bundle.mjs>`: a fresh process that imports one function bundle, as a Lambda
 * container does, invokes its handler once with the JSON event in `INVOKE_EVENT` and writes the
 * handler's result as JSON to fd 3 (stdout carries the function's log lines).
 */
import { writeSync } from 'node:fs';

const [bundle] = process.argv.slice(2);
const event = JSON.parse(process.env.INVOKE_EVENT ?? 'null');
const { handler } = await import(bundle);
const endsAt = Date.now() + 20_000;
const result = await handler(event, {
  functionName: 'bundle-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bundle-test',
  memoryLimitInMB: '256',
  awsRequestId: `bundle-${process.pid}`,
  logGroupName: '/aws/lambda/bundle-test',
  logStreamName: 'bundle-test',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()),
});
writeSync(3, JSON.stringify(result ?? null));
process.exit(0);
