import { Metrics } from '@aws-lambda-powertools/metrics';
import { logger } from './logger.js';

/**
 * The one metrics instance of the process (CloudWatch EMF on stdout), with the dimensions `service`
 * and `stage` (`STAGE`, set by serverless.yml; `local` elsewhere): stages deployed in one account
 * keep their metrics, and the alarms on them, apart. Its own warnings (e.g. an invocation that
 * published no metric) go through the logger, as JSON lines like every other.
 */
export const metrics = new Metrics({
  namespace: 'LfJobStopper',
  serviceName: 'lf-job-stopper',
  defaultDimensions: { stage: process.env.STAGE?.trim() || 'local' },
  logger,
});
