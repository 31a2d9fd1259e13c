import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

/** The cold-start baseline: a handler with middy and the Powertools logger, nothing else. */
const logger = new Logger({ serviceName: 'baseline' });

export const handler = middy(async () => {
  logger.info('baseline');
  return { statusCode: 200 };
}).use(injectLambdaContext(logger, { resetKeys: true }));
