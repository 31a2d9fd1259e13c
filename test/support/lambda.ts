import type { Context } from 'aws-lambda';
import { lambdaContext as localContext } from '../../local/lambda-context.js';

/** A Lambda context with `remainingMs` left at creation, counting down in real time. */
export function lambdaContext(remainingMs = 30_000, overrides: Partial<Context> = {}): Context {
  return localContext('lf-job-stopper-test', remainingMs, overrides);
}
