import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { MiddlewareObj } from '@middy/core';
import { logger } from '../logger.js';

/**
 * Adds the Lambda context to every log line and clears keys added during the previous invocation,
 * so nothing leaks from one request into the next. `correlationIdPath` is a JMESPath into the event
 * (e.g. `requestContext.requestId`).
 */
export function logging(options: { correlationIdPath?: string } = {}): MiddlewareObj {
  return injectLambdaContext(logger, {
    resetKeys: true,
    ...(options.correlationIdPath !== undefined && { correlationIdPath: options.correlationIdPath }),
  });
}
