import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { StopOutcome } from '../domain/stop.js';
import { logger } from './logger.js';

/**
 * The one metrics instance of the process (CloudWatch EMF on stdout). Its own warnings (e.g. an
 * invocation that published no metric) go through the logger, as JSON lines like every other.
 */
export const metrics = new Metrics({ namespace: 'LfJobStopper', serviceName: 'lf-job-stopper', logger });

const METRIC_OF: Record<StopOutcome, string> = {
  STOP_REQUESTED: 'StopRequested',
  NOT_RUNNING: 'NotRunning',
  NOT_FOUND: 'NotFound',
  NOT_STOPPABLE: 'NotStoppable',
  RUN_CHANGED: 'RunChanged',
};

/** Counts stop outcomes, under the same metric whichever entry point reached them. */
export function countOutcome(outcome: StopOutcome, count = 1): void {
  metrics.addMetric(METRIC_OF[outcome], MetricUnit.Count, count);
}
