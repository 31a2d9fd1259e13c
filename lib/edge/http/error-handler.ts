import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { classifyFailure } from '../../domain/failures.js';
import { logger } from '../../platform/logger.js';
import { metrics } from '../../platform/metrics.js';
import { StopFailedError } from '../middleware/failure-mapping.js';
import type { HttpMiddleware } from './event.js';
import { ReplayedAnswer } from './idempotency.js';
import { ProblemError, problemResponse } from './problems.js';
import { failureResponse } from './responses.js';

/**
 * The HTTP error handler: renders any error as `application/problem+json`. Register it right after
 * the logger so that its `onError` runs last, after every other middleware had its say.
 */
export function problemResponses(): HttpMiddleware {
  return {
    onError: (request) => {
      const error = request.error;
      if (error instanceof ReplayedAnswer) {
        request.response = error.response;
        return;
      }
      if (error instanceof ProblemError) {
        logger.info('request rejected', { code: error.code, detail: error.detail });
        metrics.addMetric('RequestRejected', MetricUnit.Count, 1);
        request.response = problemResponse(error.kind, error.detail, error.options);
        return;
      }
      const failure = error instanceof StopFailedError ? error.failure : classifyFailure(error);
      if (!(error instanceof StopFailedError)) {
        logger.error('request failed', { failure: failure.kind, error: error ?? undefined });
      }
      metrics.addMetric(
        failure.kind === 'INTERNAL' ? 'InternalError' : 'RetryableFailure',
        MetricUnit.Count,
        1,
      );
      request.response = failureResponse(failure);
    },
  };
}
