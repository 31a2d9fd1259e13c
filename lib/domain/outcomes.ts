import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { metrics } from '../platform/metrics.js';

/**
 * The outcomes every entry point reports (design: "Stop outcomes"), and `RUN_CHANGED`: the request
 * named the run to stop (`runStartedAt`) and the job is on another one, which was left alone.
 */
export const STOP_OUTCOMES = [
  'STOP_REQUESTED',
  'NOT_RUNNING',
  'NOT_FOUND',
  'NOT_STOPPABLE',
  'RUN_CHANGED',
] as const;
export type StopOutcome = (typeof STOP_OUTCOMES)[number];

export interface StopResult {
  jobId: string;
  instanceId: string;
  outcome: StopOutcome;
  /** The job's status, when it was read (after a refused stop, or before a stop naming its run). */
  status?: string;
  /** Why LakeFormation refused the stop, for `NOT_STOPPABLE`; which run the job is on, for `RUN_CHANGED`. */
  detail?: string;
}

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
