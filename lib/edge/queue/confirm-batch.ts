import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { classifyFailure, type Failure } from '../../domain/failures.js';
import type { StopEvent, StopRecord, StopState } from '../../domain/ledger/records.js';
import type { LedgerTable } from '../../domain/ledger/table.js';
import { queueCheck, stopDetail } from '../../domain/lifecycle/announce.js';
import { type ConfirmCheck, type ConfirmSettings, judgeCheck } from '../../domain/lifecycle/confirm.js';
import { type LifecycleEvent, publishEvents } from '../../domain/lifecycle/events.js';
import type { RetryBackoff } from '../../domain/retry-policy.js';
import { isMissingJob } from '../../domain/stop.js';
import { logger } from '../../platform/logger.js';
import { metrics } from '../../platform/metrics.js';
import { isJsonObject } from '../../platform/objects.js';
import { runPool } from '../../platform/pool.js';
import type { LakeFormationClient } from '../../upstream/lakeformation/client.js';
import { LakeFormationHttpError } from '../../upstream/lakeformation/errors.js';
import type { Job } from '../../upstream/lakeformation/job.js';
import { deferRetries, retryVisibility } from './visibility.js';

export interface ConfirmBatchOptions {
  client: LakeFormationClient;
  ledger: LedgerTable;
  sqs: () => SQSClient;
  confirmQueueUrl: string;
  eventBridge: () => EventBridgeClient;
  busName: string;
  settings: ConfirmSettings;
  /** The back-off of failed checks (their visibility timeout by receive count); without it, the queue's. */
  backoff?: RetryBackoff;
  /** Epoch ms by which LakeFormation calls must be over. */
  deadline: number;
  now?: () => number;
}

/** A confirm-queue body, checked (docs/confirm-message.schema.json); `undefined` when it is not one. */
export function parseCheck(body: string): ConfirmCheck | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isJsonObject(value)) return undefined;
  const { stopId, jobId, instanceId, runStartedAt, acceptedAt, delaySeconds, checks, retried } = value;
  const text = (field: unknown) => typeof field === 'string' && field !== '';
  if (!text(stopId) || !text(jobId) || !text(instanceId) || !text(acceptedAt)) return undefined;
  if (Number.isNaN(Date.parse(String(acceptedAt)))) return undefined;
  if (runStartedAt !== undefined && (!text(runStartedAt) || Number.isNaN(Date.parse(String(runStartedAt))))) {
    return undefined;
  }
  if (typeof delaySeconds !== 'number' || typeof checks !== 'number' || typeof retried !== 'boolean') {
    return undefined;
  }
  const { requests, requestCount } = value;
  const optionalText = (field: unknown) => field === undefined || typeof field === 'string';
  const isRequest = (request: unknown) =>
    isJsonObject(request) &&
    text(request.source) &&
    text(request.at) &&
    optionalText(request.caller) &&
    optionalText(request.reason);
  if (requests !== undefined && (!Array.isArray(requests) || !requests.every(isRequest))) return undefined;
  if (requestCount !== undefined && (!Number.isInteger(requestCount) || Number(requestCount) < 0)) {
    return undefined;
  }
  return value as unknown as ConfirmCheck;
}

/**
 * The record of a stop as its check carries it: `REQUESTED`, accepted at `acceptedAt` (when its
 * record was to be made), with the requests the record would have kept. A check writes it when the
 * stop has none: the write after LakeFormation's 202 failed, every try of it.
 */
export function recordOfCheck(check: ConfirmCheck): StopRecord {
  const requests = check.requests ?? [];
  return {
    stopId: check.stopId,
    jobId: check.jobId,
    instanceId: check.instanceId,
    ...(check.runStartedAt !== undefined && { runStartedAt: check.runStartedAt }),
    state: 'REQUESTED',
    outcome: 'STOP_REQUESTED',
    createdAt: check.acceptedAt,
    updatedAt: check.acceptedAt,
    requests,
    requestCount: check.requestCount ?? requests.length,
    events: [
      {
        at: check.acceptedAt,
        type: 'Stop Requested',
        detail: { outcome: 'STOP_REQUESTED', recordedBy: 'confirmation check' },
      },
    ],
  };
}

/** Checks of a batch made side by side: each is a different stop (a batch holds 10, serverless.yml). */
const CHECKS_AT_ONCE = 10;

/**
 * One confirmation check per message (design: "Confirmation"): reads the job and records what it
 * found on the stop's record; a stop that ended is `CONFIRMED`, one still running at the end of the
 * window `STUCK` (metric `StopStuck`); in between the next check is queued, and at half the window
 * the stop is sent once more. Each step is a lifecycle event. A check that fails for a retryable
 * reason (the read, the ledger, the queue) is a batch item failure: SQS delivers it again.
 */
export async function processConfirmBatch(
  records: readonly SQSRecord[],
  options: ConfirmBatchOptions,
): Promise<SQSBatchResponse> {
  const failures = await runPool(
    records,
    CHECKS_AT_ONCE,
    () => true,
    async (record): Promise<Failure | false> => {
      try {
        await confirmOne(record, options);
        return false;
      } catch (error) {
        return classifyFailure(error);
      }
    },
  );
  const retries = records.flatMap((record, index) => {
    const failure = failures[index];
    if (!failure) return [];
    const seconds = options.backoff
      ? retryVisibility(
          {
            record,
            ...(failure.retryAfterSeconds !== undefined && { retryAfterSeconds: failure.retryAfterSeconds }),
            ...(failure.probeInSeconds !== undefined && { probeInSeconds: failure.probeInSeconds }),
          },
          options.backoff,
        )
      : undefined;
    logger.warn('confirmation check will be retried', {
      messageId: record.messageId,
      failure: failure.kind,
      detail: failure.detail,
      ...(seconds !== undefined && { nextAttemptSeconds: seconds }),
    });
    return [{ record, seconds: seconds ?? 0 }];
  });
  if (options.backoff) await deferRetries(options.sqs, options.confirmQueueUrl, retries);
  const paused = records.filter((_, index) => {
    const failure = failures[index];
    return failure && failure.probeInSeconds !== undefined;
  }).length;
  if (paused > 0) metrics.addMetric('CallsPaused', MetricUnit.Count, paused);
  return { batchItemFailures: retries.map(({ record }) => ({ itemIdentifier: record.messageId })) };
}

async function confirmOne(record: SQSRecord, options: ConfirmBatchOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const check = parseCheck(record.body);
  if (!check) {
    // not ours: after maxReceiveCount SQS moves it to the confirm DLQ, where the alarm is
    logger.error('not a confirmation check', { messageId: record.messageId });
    throw new Error('not a confirmation check');
  }
  const ref = { instanceId: check.instanceId, jobId: check.jobId };
  const job = await readJob(options.client, ref, options.deadline);
  const onRecord = (event: StopEvent, state?: StopState) => recordOnStop(options, check, event, state);
  const verdict = judgeCheck(check, job, now(), options.settings);
  const at = new Date(now()).toISOString();
  const detail = stopDetail(check);
  const line = { ...detail, checks: check.checks + 1, acceptedAt: check.acceptedAt };
  const events: LifecycleEvent[] = [];
  switch (verdict.kind) {
    case 'confirmed': {
      const found = {
        why: verdict.why,
        ...(verdict.status !== undefined && { status: verdict.status }),
        ...(verdict.endTime !== undefined && { endTime: new Date(verdict.endTime).toISOString() }),
        ...(verdict.startTime !== undefined && {
          newRunStartedAt: new Date(verdict.startTime).toISOString(),
        }),
      };
      await onRecord({ at, type: 'Stop Confirmed', detail: found }, 'CONFIRMED');
      await options.ledger.releaseClaim(ref, check.stopId);
      events.push({ type: 'Stop Confirmed', detail: { ...detail, state: 'CONFIRMED', ...found } });
      logger.info('stop CONFIRMED', { ...line, ...found });
      break;
    }
    case 'stuck': {
      const found = { status: verdict.status, windowSeconds: options.settings.windowSeconds };
      await onRecord({ at, type: 'Stop Stuck', detail: found }, 'STUCK');
      await options.ledger.releaseClaim(ref, check.stopId);
      events.push({ type: 'Stop Stuck', detail: { ...detail, state: 'STUCK', ...found } });
      metrics.addMetric('StopStuck', MetricUnit.Count, 1);
      logger.warn('stop STUCK: the job still runs at the end of the confirmation window', {
        ...line,
        ...found,
      });
      break;
    }
    case 'again': {
      await onRecord({
        at,
        type: 'Confirmation Check',
        detail: {
          status: verdict.status,
          nextCheckSeconds: verdict.delaySeconds,
          ...(verdict.stopAgain && { stopAgain: true }),
        },
      });
      // The next check is queued before the stop is sent again, and nothing after the stop can fail
      // the check: a check that SQS delivers again (the next one could not be queued, a ledger write
      // failed) has sent nothing yet, so the stop is sent again at most once.
      await queueCheck(options, {
        ...check,
        delaySeconds: verdict.delaySeconds,
        checks: check.checks + 1,
        retried: check.retried || verdict.stopAgain,
      });
      if (verdict.stopAgain) events.push(...(await stopAgain(check, verdict.status, at, options)));
      logger.info('stop not confirmed yet', {
        ...line,
        status: verdict.status,
        nextCheckSeconds: verdict.delaySeconds,
      });
      break;
    }
  }
  await publishEvents(options.eventBridge, options.busName, events, now);
}

/**
 * Records `event` (and `state`) on the stop's record. A stop without a record (every write of it
 * after LakeFormation's 202 failed) gets it now, from what its check carries, then the event: once a
 * stop's first check is queued, its record is not lost. A record that cannot be written even so
 * leaves the check to go on without it (logged and counted, `LedgerWriteFailed`); the next check
 * tries again.
 */
async function recordOnStop(
  options: ConfirmBatchOptions,
  check: ConfirmCheck,
  event: StopEvent,
  state?: StopState,
): Promise<void> {
  if (await options.ledger.recordEvent(check.stopId, event, state)) return;
  const ref = { instanceId: check.instanceId, jobId: check.jobId };
  logger.warn('the accepted stop had no record: written from its confirmation check', {
    ...stopDetail(check),
    acceptedAt: check.acceptedAt,
    checks: check.checks + 1,
  });
  try {
    await options.ledger.recordOutcome(ref, recordOfCheck(check), Date.parse(check.acceptedAt));
  } catch (error) {
    logger.error('the record of an accepted stop could not be written from its confirmation check', {
      stopId: check.stopId,
      error,
    });
    metrics.addMetric('LedgerWriteFailed', MetricUnit.Count, 1);
    return;
  }
  await options.ledger.recordEvent(check.stopId, event, state);
}

/**
 * Sends the stop once more, at half the window, once the next check is queued: never throws. A stop
 * LakeFormation refuses (the job is stopping) counts as sent; one that fails otherwise is logged and
 * recorded (`Stop Retry Failed`, with the failure's kind), and the checks go on to `CONFIRMED` or
 * `STUCK` all the same.
 */
async function stopAgain(
  check: ConfirmCheck,
  status: string,
  at: string,
  options: ConfirmBatchOptions,
): Promise<LifecycleEvent[]> {
  const ref = { instanceId: check.instanceId, jobId: check.jobId };
  const line = { ...stopDetail(check), checks: check.checks + 1, acceptedAt: check.acceptedAt };
  try {
    await options.client.stopJob(ref, { deadline: options.deadline });
  } catch (error) {
    const refused = error instanceof LakeFormationHttpError && (error.status === 400 || error.status === 409);
    if (!refused) {
      const failure = classifyFailure(error);
      logger.warn('the stop could not be sent again at half the confirmation window; the checks go on', {
        ...line,
        failure: failure.kind,
        detail: failure.detail,
      });
      await recordAfterQueued(options.ledger, check.stopId, {
        at,
        type: 'Stop Retry Failed',
        detail: { status, failure: failure.kind },
      });
      return [];
    }
  }
  await recordAfterQueued(options.ledger, check.stopId, { at, type: 'Stop Retried', detail: { status } });
  logger.info('stop sent again at half the confirmation window', line);
  return [{ type: 'Stop Retried', detail: { ...stopDetail(check), state: 'REQUESTED', status } }];
}

/**
 * Records an event once the next check is queued: a failure is logged and counted
 * (`LedgerWriteFailed`), never thrown, since SQS would deliver the check again and start a second
 * chain of checks.
 */
async function recordAfterQueued(ledger: LedgerTable, stopId: string, event: StopEvent): Promise<void> {
  try {
    await ledger.recordEvent(stopId, event);
  } catch (error) {
    logger.error('an event of a stop could not be recorded', { stopId, type: event.type, error });
    metrics.addMetric('LedgerWriteFailed', MetricUnit.Count, 1);
  }
}

async function readJob(
  client: LakeFormationClient,
  ref: { instanceId: string; jobId: string },
  deadline: number,
): Promise<Job | undefined> {
  try {
    return await client.getJob(ref, { deadline });
  } catch (error) {
    if (error instanceof LakeFormationHttpError && isMissingJob(error)) return undefined;
    throw error;
  }
}
