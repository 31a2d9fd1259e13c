import { Metrics } from '@aws-lambda-powertools/metrics';
import { logger } from './logger.js';

/**
 * The one metrics instance of the process (CloudWatch EMF on stdout). Its own warnings (e.g. an
 * invocation that published no metric) go through the logger, as JSON lines like every other.
 */
export const metrics = new Metrics({ namespace: 'LfJobStopper', serviceName: 'lf-job-stopper', logger });
