import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import {
  groupStops,
  type StopGroupsOptions,
  type StopItem,
  type StopOneGroup,
  stopGroups,
} from '../../domain/bulk.js';
import {
  type DeadLetterCode,
  FAILURES,
  type FailureKind,
  isDeadLetterCode,
  type QueueDisposition,
} from '../../domain/failures.js';
import type { StopRecord } from '../../domain/ledger/records.js';
import { stopOnce } from '../../domain/ledger/stop-once.js';
import type { LedgerTable } from '../../domain/ledger/table.js';
import { outcomeDeadLetterCode } from '../../domain/outcomes.js';
import { REAPER_SOURCE } from '../../domain/reaper/reaper.js';
import type { RetryBackoff } from '../../domain/retry-policy.js';
import { type RunWatchStore, runKey, runStart } from '../../domain/run-watch.js';
import { parseRunStartedAt, parseStopMessage, type StopMessage } from '../../domain/stop-request.js';
import type { SqsClientSource } from '../../upstream/aws/sqs.js';
import type { JobRef } from '../../upstream/lakeformation/client.js';
import { logReport, type MessageReport, reportBatch } from './batch-log.js';
import { type DeadLetter, sendDeadLetters } from './dead-letters.js';
import { deferRetries, retryVisibility } from './visibility.js';

export interface BulkStopOptions extends StopGroupsOptions {
  /**
   * The stop ledger: each group's stop is made once per job run across every entry point and
   * recorded, each message a request of it (domain/ledger/stop-once.ts). Without it, stops are made
   * unrecorded.
   */
  ledger?: LedgerTable;
  /** Told of each stop recorded (its confirmation, its event). */
  announce?: (record: StopRecord) => Promise<void>;
  /**
   * The runs' snoozes: a reaper stop of a run its owner snoozed after the stop was queued is not
   * made (acknowledged, with why). Without it, every stop is made.
   */
  watches?: Pick<RunWatchStore, 'readWatches'>;
  /**
   * The queue the records came from (`STOP_QUEUE_URL`) and the back-off of retried messages: each
   * gets its visibility timeout by its receive count. Without them, a retried message comes back
   * after the queue's visibility timeout.
   */
  retries?: { queueUrl: string; backoff: RetryBackoff; random?: () => number };
  /** For the dead letters and the back-off. */
  sqs: SqsClientSource;
  dlqUrl: string;
  defaultInstanceId: string;
  allowedInstanceIds: ReadonlySet<string>;
}

/** A message of the batch that reads as a stop request. */
interface QueueItem {
  record: SQSRecord;
  message: StopMessage;
}

/**
 * Stops the jobs of an SQS batch, one per message, and decides each message's fate:
 * acknowledged with an outcome, sent to the DLQ (it can never succeed), or reported as a batch item
 * failure (retryable). Nothing is dropped: a DLQ send that fails turns into a batch item failure.
 */
export async function processStopBatch(
  records: readonly SQSRecord[],
  options: BulkStopOptions,
): Promise<{ response: SQSBatchResponse; reports: MessageReport[] }> {
  const reports = new Map<string, MessageReport>();
  const deadLetters: DeadLetter[] = [];
  /** A message that can never succeed: sent to the DLQ, and logged once its send is known. */
  const deadLetter = (
    record: SQSRecord,
    errorCode: DeadLetterCode,
    errorMessage: string,
    context: Partial<MessageReport> = {},
  ) => {
    deadLetters.push({ record, errorCode, errorMessage });
    reports.set(record.messageId, {
      ...context,
      messageId: record.messageId,
      disposition: 'dead-lettered',
      errorCode,
      errorMessage,
    });
  };
  /**
   * A final verdict is logged at once, while other stops still wait on LakeFormation; a retry once
   * its back-off is set.
   */
  const settle = (report: MessageReport) => {
    reports.set(report.messageId, report);
    if (report.disposition !== 'retry') logReport(report);
  };
  /**
   * A message that ended with a failure: what the failure table says of its kind (FAILURES[kind].queue),
   * a retry when the table gives the queue nothing to do (never dropped).
   */
  const failed = (
    record: SQSRecord,
    failure: { kind: FailureKind; detail: string } & Pick<
      MessageReport,
      'retryAfterSeconds' | 'probeInSeconds'
    >,
    context: Omit<MessageReport, 'disposition'>,
  ) => {
    const { kind, detail, retryAfterSeconds, probeInSeconds } = failure;
    const disposition: QueueDisposition | null = FAILURES[kind].queue;
    if (disposition === 'dead-lettered' && isDeadLetterCode(kind)) {
      deadLetter(record, kind, detail, context);
      return;
    }
    if (disposition === 'acknowledged') {
      settle({ ...context, disposition, errorCode: kind, errorMessage: detail });
      return;
    }
    settle({
      ...context,
      disposition: 'retry',
      errorCode: kind,
      errorMessage: detail,
      ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
      ...(probeInSeconds !== undefined && { probeInSeconds }),
    });
  };

  const stops: StopItem<QueueItem>[] = [];
  for (const record of records) {
    const check = parseStopMessage(record.body);
    if (!check.ok) {
      deadLetter(record, check.errorCode, check.errorMessage);
      continue;
    }
    const { message } = check;
    const ref = { instanceId: message.instanceId ?? options.defaultInstanceId, jobId: message.jobId };
    if (!options.allowedInstanceIds.has(ref.instanceId)) {
      const why = `instance ${ref.instanceId} is not one this service may act on`;
      deadLetter(record, 'INSTANCE_NOT_ALLOWED', why, messageContext(ref, message));
      continue;
    }
    stops.push({ ref, runStartedAt: parseRunStartedAt(message.runStartedAt), item: { record, message } });
  }

  const due = options.watches ? await dropSnoozed(stops, options.watches, settle, failed) : stops;

  const ledger = options.ledger;
  const watches = options.watches;
  const stopGroup: StopOneGroup<QueueItem> | undefined = ledger
    ? async (group, { deadline }) => {
        const requests = group.items.map(({ message }) => ({
          source: message.source ?? 'queue',
          ...(message.reason !== undefined && { reason: message.reason }),
          at: new Date().toISOString(),
        }));
        const deps = {
          client: options.client,
          ledger,
          ...(options.announce && { announce: options.announce }),
        };
        const request = {
          ...(group.runStartedAt !== undefined && { runStartedAt: group.runStartedAt }),
          requests,
        };
        const runStartedAt = group.runStartedAt;
        // The reaper's stop of a run snoozed between the read above and the claim: the run's snooze
        // is read again once the claim is held (the snooze reads the claim once its own write is
        // made), so that one of the two sees the other. A stop some other producer asked for is
        // made whatever the snoozes.
        if (watches && runStartedAt !== undefined && group.items.every(isReaperStop)) {
          const run = { ...group.ref, runStartedAt: runStart(runStartedAt) };
          const holdBack = async () => {
            const now = Date.now();
            const until = (await watches.readWatches([run], now)).get(runKey(run))?.snoozedUntil;
            return until !== undefined && until > now ? snoozedDetail(until) : undefined;
          };
          return stopOnce(deps, group.ref, { ...request, holdBack }, { deadline });
        }
        const { result, stopId } = await stopOnce(deps, group.ref, request, { deadline });
        return { result, stopId };
      }
    : undefined;
  await stopGroups(groupStops(due), { ...options, ...(stopGroup && { stopGroup }) }, (group, verdict) => {
    for (const { record, message } of group.items) {
      const context = { messageId: record.messageId, ...messageContext(group.ref, message) };
      if ('failure' in verdict) {
        // as the failure table has it (today: retried), with the failure's kind (DEADLINE: not
        // started in time) as its errorCode
        failed(record, verdict.failure, context);
        continue;
      }
      if ('heldBack' in verdict) {
        settle({ ...context, disposition: 'acknowledged', detail: verdict.heldBack });
        continue;
      }
      const { result } = verdict;
      const outcome = {
        ...context,
        outcome: result.outcome,
        ...(verdict.stopId !== undefined && { stopId: verdict.stopId }),
        ...(result.status !== undefined && { status: result.status }),
        ...(result.outcome === 'RUN_CHANGED' && { detail: result.detail }),
      };
      // acknowledged, or dead-lettered by the outcome's failure row (NOT_STOPPABLE)
      const errorCode = outcomeDeadLetterCode(result.outcome);
      if (errorCode === undefined) {
        settle({ ...outcome, disposition: 'acknowledged' });
      } else {
        const why = `job is ${result.status ?? 'in an unknown status'} and LakeFormation refused the stop${result.detail ? `: ${result.detail}` : ''}`;
        deadLetter(record, errorCode, why, outcome);
      }
    }
  });

  // dead letters are logged once their send is known to have worked (or turned them into retries)
  await sendDeadLetters(options, deadLetters, reports);
  const ordered = records.map((record) => reports.get(record.messageId) as MessageReport);
  if (options.retries) {
    const { queueUrl, backoff, random } = options.retries;
    const deferred = records.flatMap((record, index) => {
      const report = ordered[index] as MessageReport;
      if (report.disposition !== 'retry') return [];
      const seconds = retryVisibility({ record, ...report }, backoff, random);
      report.nextAttemptSeconds = seconds;
      return [{ record, seconds }];
    });
    await deferRetries(options.sqs, queueUrl, deferred);
  }
  const lettered = new Set(deadLetters.map((letter) => letter.record.messageId));
  for (const report of ordered)
    if (report.disposition === 'retry' || lettered.has(report.messageId)) logReport(report);
  reportBatch(ordered);
  return {
    response: {
      batchItemFailures: ordered
        .filter((report) => report.disposition === 'retry')
        .map((report) => ({ itemIdentifier: report.messageId })),
    },
    reports: ordered,
  };
}

/** What a message's log line says about its job, whatever became of it. */
function messageContext(ref: JobRef, message: StopMessage) {
  return {
    ...ref,
    source: message.source,
    reason: message.reason,
    ...(message.runStartedAt !== undefined && { runStartedAt: message.runStartedAt }),
  };
}

/**
 * Takes out of `stops` the reaper's stops of runs snoozed since the reaper queued them: the owner's
 * snooze wins over a stop not made yet. A ledger that cannot be read retries them (never a stop
 * made past a snooze that might be there).
 */
async function dropSnoozed(
  stops: StopItem<QueueItem>[],
  watches: Pick<RunWatchStore, 'readWatches'>,
  settle: (report: MessageReport) => void,
  failed: (
    record: SQSRecord,
    failure: { kind: FailureKind; detail: string },
    context: Omit<MessageReport, 'disposition'>,
  ) => void,
): Promise<StopItem<QueueItem>[]> {
  const reaped = stops.filter((stop) => isReaperStop(stop.item) && stop.runStartedAt !== undefined);
  if (reaped.length === 0) return stops;
  const runOf = (stop: StopItem<QueueItem>) => ({
    ...stop.ref,
    runStartedAt: runStart(stop.runStartedAt as number),
  });
  const now = Date.now();
  const dropped = new Set<StopItem<QueueItem>>();
  let found: Awaited<ReturnType<RunWatchStore['readWatches']>>;
  try {
    found = await watches.readWatches(reaped.map(runOf), now);
  } catch (error) {
    for (const stop of reaped) {
      dropped.add(stop);
      failed(
        stop.item.record,
        {
          kind: 'LEDGER_UNAVAILABLE',
          detail: `the run's snoozes could not be read (${(error as Error).message})`,
        },
        { messageId: stop.item.record.messageId, ...messageContext(stop.ref, stop.item.message) },
      );
    }
    return stops.filter((stop) => !dropped.has(stop));
  }
  for (const stop of reaped) {
    const until = found.get(runKey(runOf(stop)))?.snoozedUntil;
    if (until === undefined || until <= now) continue;
    dropped.add(stop);
    settle({
      messageId: stop.item.record.messageId,
      ...messageContext(stop.ref, stop.item.message),
      disposition: 'acknowledged',
      detail: snoozedDetail(until),
    });
  }
  return stops.filter((stop) => !dropped.has(stop));
}

/** A stop the reaper queued: the only kind a snooze holds back. */
function isReaperStop(item: QueueItem): boolean {
  return item.message.source === REAPER_SOURCE;
}

/** Why the reaper's stop of a snoozed run was acknowledged without a stop. */
function snoozedDetail(until: number): string {
  return `not stopped: the run was snoozed until ${new Date(until).toISOString()} after the reaper queued its stop`;
}
