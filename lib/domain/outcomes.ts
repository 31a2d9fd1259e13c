import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { metrics } from '../platform/metrics.js';
import { type DeadLetterCode, type FailureKind, isDeadLetterCode } from './failures.js';

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

/**
 * What each outcome is to each entry point: its metric and, for the two a caller must tell apart
 * from a stop, the failure row (domain/failures.ts) it is answered and queued as. An outcome is not a
 * failure (a job that is not there needs no stop), but the webhook answers those two as problems
 * (404, 409), and the queue function acknowledges or dead-letters them by their row's rule.
 */
export const OUTCOMES = {
  STOP_REQUESTED: { metric: 'StopRequested' },
  NOT_RUNNING: { metric: 'NotRunning' },
  NOT_FOUND: { metric: 'NotFound', failure: 'JOB_NOT_FOUND' },
  NOT_STOPPABLE: { metric: 'NotStoppable', failure: 'JOB_NOT_STOPPABLE' },
  RUN_CHANGED: { metric: 'RunChanged' },
} as const satisfies Record<StopOutcome, { metric: string; failure?: FailureKind }>;

/**
 * Why a queue message whose stop ended with `outcome` is dead-lettered (its DLQ copy's `errorCode`),
 * by the rule of the failure row the outcome points at; `undefined` when the message is done with.
 */
export function outcomeDeadLetterCode(outcome: StopOutcome): DeadLetterCode | undefined {
  const row = OUTCOMES[outcome];
  return 'failure' in row && isDeadLetterCode(row.failure) ? row.failure : undefined;
}

/** Counts stop outcomes, under the same metric whichever entry point reached them. */
export function countOutcome(outcome: StopOutcome, count = 1): void {
  metrics.addMetric(OUTCOMES[outcome].metric, MetricUnit.Count, count);
}
