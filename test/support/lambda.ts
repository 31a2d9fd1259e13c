import type { Context } from 'aws-lambda';
import { lambdaContext as localContext } from '../../local/lambda-context.js';

/**
 * A Lambda context with `remainingMs` left at creation, counting down in real time. Typed as the
 * context a handler expects (`C`, e.g. one its middlewares extend): they fill in the rest.
 */
export function lambdaContext<C extends Context = Context>(
  remainingMs = 30_000,
  overrides: Partial<Context> = {},
): C {
  return localContext('lf-job-stopper-test', remainingMs, overrides) as C;
}
