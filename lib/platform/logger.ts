import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger of the process. Log fields explicitly; never pass an event, a header map, a token,
 * a password or a caller key.
 */
export const logger = new Logger({ serviceName: 'lf-job-stopper' });
