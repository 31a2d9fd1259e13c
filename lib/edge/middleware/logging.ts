import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { MiddlewareObj } from '@middy/core';
import { logger } from '../../platform/logger.js';

/**
 * Adds the Lambda context to every log line and clears keys added during the previous invocation,
 * so nothing leaks from one request into the next. `correlationId` picks the id to stamp on every
 * line (e.g. API Gateway's request id) from the event.
 */
export function logging<TEvent>(
  options: { correlationId?: (event: TEvent) => string | undefined } = {},
): MiddlewareObj<TEvent> {
  const context = injectLambdaContext(logger, { resetKeys: true }) as MiddlewareObj<TEvent>;
  const { correlationId } = options;
  if (!correlationId) return context;
  return {
    ...context,
    before: async (request) => {
      await context.before?.(request);
      const id = correlationId(request.event);
      if (id) logger.setCorrelationId(id);
    },
  };
}
