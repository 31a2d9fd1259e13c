import type { Context } from 'aws-lambda';

/** A Lambda context with `remainingMs` left at creation, counting down in real time. */
export function lambdaContext(remainingMs = 30_000, overrides: Partial<Context> = {}): Context {
  const endsAt = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'lf-job-stopper-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:lf-job-stopper-test',
    memoryLimitInMB: '256',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: '/aws/lambda/lf-job-stopper-test',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
    ...overrides,
  };
}
