import type { MiddlewareObj } from '@middy/core';
import { classifyFailure, type Failure } from '../../domain/failures.js';
import { logger } from '../../platform/logger.js';

/** A stop could not get an outcome; `failure` says why in the outcome vocabulary. */
export class StopFailedError extends Error {
  override name = 'StopFailedError';
  constructor(
    readonly failure: Failure,
    options?: ErrorOptions,
  ) {
    super(failure.detail, options);
  }
}

/**
 * Error mapping: turns a failure of the stop (throttling, timeout, upstream or credentials error)
 * into a {@link StopFailedError} carrying the classified {@link Failure}, and logs it once. Other
 * errors (rejected requests, defects) pass through unchanged. It rethrows (middy keeps `request.error`), so queue
 * and schedule handlers fail loudly; the HTTP function renders it after this runs.
 */
export function failureMapping<TEvent = unknown, TResult = unknown>(): MiddlewareObj<TEvent, TResult, Error> {
  return {
    onError: (request) => {
      const error = request.error;
      if (error === null || error === undefined || error instanceof StopFailedError) return;
      const failure = classifyFailure(error);
      // Not a stop failure (a rejected request, a defect): left for the error handler as it is.
      if (failure.kind === 'INTERNAL') return;
      logger.warn('stop failed', {
        failure: failure.kind,
        detail: failure.detail,
        upstream: failure.upstream,
        error,
      });
      request.error = new StopFailedError(failure, { cause: error });
    },
  };
}
