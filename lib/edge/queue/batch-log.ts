import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { FailureKind, QueueDisposition } from '../../domain/failures.js';
import { countOutcome, type StopOutcome } from '../../domain/outcomes.js';
import { logger } from '../../platform/logger.js';
import { metrics } from '../../platform/metrics.js';

/** What happened to one message; logged as one line. */
export interface MessageReport {
  messageId: string;
  disposition: QueueDisposition;
  jobId?: string;
  instanceId?: string;
  source?: string;
  reason?: string;
  /** The run the message was meant for, as the message says it. */
  runStartedAt?: string;
  outcome?: StopOutcome;
  /** The stop's record in the ledger (joined or made). */
  stopId?: string;
  /** For a retry: the least wait LakeFormation asked for (`Retry-After`). */
  retryAfterSeconds?: number;
  /** For a retry made without a call: when the breaker probes LakeFormation next. */
  probeInSeconds?: number;
  /** For a retry: the visibility timeout it got, in seconds (its back-off). */
  nextAttemptSeconds?: number;
  status?: string;
  /** For `RUN_CHANGED`: which run the job is on. */
  detail?: string;
  /** Why it was dead-lettered or will be retried. */
  errorCode?: FailureKind;
  errorMessage?: string;
}

/** One message's line: `message processed`, `message dead-lettered` or `message will be retried`. */
export function logReport(report: MessageReport): void {
  const { disposition, ...fields } = report;
  const line = { disposition, ...fields };
  if (disposition === 'acknowledged') logger.info('message processed', line);
  else if (disposition === 'dead-lettered') logger.warn('message dead-lettered', line);
  else logger.warn('message will be retried', line);
}

/**
 * Logs the batch summary and records its metrics, one value per metric and batch: per-message
 * values would make Powertools flush a line every 100 of them in a large batch.
 */
export function reportBatch(reports: MessageReport[]): void {
  const outcomes = new Map<StopOutcome, number>();
  let deadLettered = 0;
  let retry = 0;
  for (const report of reports) {
    if (report.disposition === 'dead-lettered') deadLettered++;
    if (report.disposition === 'retry') retry++;
    if (report.outcome) outcomes.set(report.outcome, (outcomes.get(report.outcome) ?? 0) + 1);
  }
  const acknowledged = reports.length - deadLettered - retry;
  const summary = {
    messages: reports.length,
    acknowledged,
    deadLettered,
    retry,
    ...Object.fromEntries(outcomes),
  };
  logger.info('batch processed', { summary });
  for (const [outcome, count] of outcomes) countOutcome(outcome, count);
  if (deadLettered > 0) metrics.addMetric('DeadLettered', MetricUnit.Count, deadLettered);
  if (retry > 0) metrics.addMetric('RetryableFailure', MetricUnit.Count, retry);
  // retried without a call: the breaker holds LakeFormation calls back (the outage alarm reads it)
  const paused = reports.filter((report) => report.probeInSeconds !== undefined).length;
  if (paused > 0) metrics.addMetric('CallsPaused', MetricUnit.Count, paused);
}
