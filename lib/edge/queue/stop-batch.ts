import { createHash } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import {
  classifyFailure,
  type DeadLetterCode,
  type FailureKind,
  type QueueDisposition,
} from '../../domain/failures.js';
import { countOutcome, outcomeDeadLetterCode, type StopOutcome } from '../../domain/outcomes.js';
import { stopWithOutcome } from '../../domain/stop.js';
import { parseRunStartedAt, parseStopMessage, type StopMessage } from '../../domain/stop-request.js';
import { logger } from '../../platform/logger.js';
import { metrics } from '../../platform/metrics.js';
import { runPool } from '../../platform/pool.js';
import {
  type BatchEntry,
  entryBytes,
  SQS_MESSAGE_BYTES,
  type SqsClientSource,
  sendBatches,
  truncateUtf8,
  utf8Bytes,
} from '../../upstream/aws/sqs.js';
import type { JobRef, LakeFormationClient } from '../../upstream/lakeformation/client.js';

export interface BulkStopOptions {
  client: LakeFormationClient;
  /** For the dead letters. */
  sqs: SqsClientSource;
  dlqUrl: string;
  defaultInstanceId: string;
  allowedInstanceIds: ReadonlySet<string>;
  /** Stop calls in flight at most. */
  concurrency: number;
  /** Epoch ms by which LakeFormation calls must be over. */
  deadline: number;
  /**
   * No job is started with less than this left before `deadline`.
   * @default 1000
   */
  minItemMs?: number;
  now?: () => number;
}

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
  status?: string;
  /** For `RUN_CHANGED`: which run the job is on. */
  detail?: string;
  /** Why it was dead-lettered or will be retried. */
  errorCode?: FailureKind;
  errorMessage?: string;
}

interface DeadLetter {
  record: SQSRecord;
  errorCode: DeadLetterCode;
  errorMessage: string;
}

interface JobGroup {
  ref: JobRef;
  /** The `start_time` (epoch ms) of the run the messages name, if they name one. */
  runStartedAt?: number;
  /** Every message of the batch naming this job (and run): one LakeFormation call serves them all. */
  items: { record: SQSRecord; message: StopMessage }[];
}

/** SQS caps a message attribute value at 256 KiB; a reason needs far less. */
const MAX_ATTRIBUTE_LENGTH = 1024;

/** Characters SQS refuses in a message attribute (it takes #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF). */
const NOT_SQS_TEXT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * An `errorMessage` SQS will take: it may quote a message's own field names or LakeFormation's
 * text, and a control character there would make SQS refuse the dead letter.
 */
function attributeText(text: string): string {
  const clean = text.replace(NOT_SQS_TEXT, '\uFFFD');
  return clean.length <= MAX_ATTRIBUTE_LENGTH
    ? clean
    : Array.from(clean).slice(0, MAX_ATTRIBUTE_LENGTH).join('');
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
  const now = options.now ?? Date.now;
  const minItemMs = options.minItemMs ?? 1000;
  const reports = new Map<string, MessageReport>();
  const deadLetters: DeadLetter[] = [];
  const groups = new Map<string, JobGroup>();

  const deadLetter = (
    record: SQSRecord,
    errorCode: DeadLetterCode,
    errorMessage: string,
    report: Partial<MessageReport> = {},
  ) => {
    deadLetters.push({ record, errorCode, errorMessage });
    reports.set(record.messageId, {
      ...report,
      messageId: record.messageId,
      disposition: 'dead-lettered',
      errorCode,
      errorMessage,
    });
  };

  /** A final verdict is logged at once, while other stops are still waiting on LakeFormation. */
  const settle = (report: MessageReport) => {
    reports.set(report.messageId, report);
    logReport(report);
  };

  for (const record of records) {
    const check = parseStopMessage(record.body);
    if (!check.ok) {
      deadLetter(record, check.errorCode, check.errorMessage);
      continue;
    }
    const { message } = check;
    const instanceId = message.instanceId ?? options.defaultInstanceId;
    if (!options.allowedInstanceIds.has(instanceId)) {
      deadLetter(
        record,
        'INSTANCE_NOT_ALLOWED',
        `instance ${instanceId} is not one this service may act on`,
        messageContext({ instanceId, jobId: message.jobId }, message),
      );
      continue;
    }
    // Messages for different runs of a job (or one for any run) are different requests.
    const runStartedAt = parseRunStartedAt(message.runStartedAt);
    const key = `${instanceId}/${message.jobId}/${runStartedAt ?? ''}`;
    const group: JobGroup = groups.get(key) ?? {
      ref: { instanceId, jobId: message.jobId },
      ...(runStartedAt !== undefined && { runStartedAt }),
      items: [],
    };
    group.items.push({ record, message });
    groups.set(key, group);
  }

  const unstarted = await runPool(
    [...groups.values()],
    options.concurrency,
    () => options.deadline - now() >= minItemMs,
    async (group) => {
      try {
        const result = await stopWithOutcome(
          options.client,
          group.ref,
          { deadline: options.deadline },
          { runStartedAt: group.runStartedAt },
        );
        for (const { record, message } of group.items) {
          const outcome = {
            outcome: result.outcome,
            ...(result.status !== undefined && { status: result.status }),
            ...(result.outcome === 'RUN_CHANGED' && { detail: result.detail }),
          };
          const deadLetterCode = outcomeDeadLetterCode(result.outcome);
          if (deadLetterCode !== undefined) {
            const why = `job is ${result.status ?? 'in an unknown status'} and LakeFormation refused the stop${result.detail ? `: ${result.detail}` : ''}`;
            deadLetter(record, deadLetterCode, why, {
              ...messageContext(group.ref, message),
              ...outcome,
            });
          } else {
            settle({
              messageId: record.messageId,
              disposition: 'acknowledged',
              ...messageContext(group.ref, message),
              ...outcome,
            });
          }
        }
      } catch (error) {
        const failure = classifyFailure(error);
        for (const { record, message } of group.items) {
          settle({
            messageId: record.messageId,
            disposition: 'retry',
            ...messageContext(group.ref, message),
            errorCode: failure.kind,
            errorMessage: failure.detail,
          });
        }
        if (failure.kind === 'INTERNAL') logger.error('unexpected error while stopping a job', { error });
      }
    },
  );
  for (const group of unstarted) {
    for (const { record, message } of group.items) {
      settle({
        messageId: record.messageId,
        disposition: 'retry',
        ...messageContext(group.ref, message),
        errorCode: 'DEADLINE',
        errorMessage: 'not started: too close to the Lambda timeout',
      });
    }
  }

  await sendDeadLetters(options, deadLetters, reports);
  // Dead letters are logged once their send is known to have worked (or turned them into retries).
  for (const letter of deadLetters) logReport(reports.get(letter.record.messageId) as MessageReport);

  const ordered = records.map((record) => reports.get(record.messageId) as MessageReport);
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
 * Sends the dead letters to the DLQ, in calls within SQS's limits (10 entries, 256 KiB with the
 * attributes: see `sendBatches`); failures become retries.
 *
 * A dead letter is the original body, unchanged, with string attributes `errorCode` and
 * `errorMessage`. One too large for SQS with those attributes (body + every attribute's name,
 * `String` and value, in UTF-8 bytes, over 262,144) is sent trimmed instead ({@link trimmedDeadLetter}).
 */
async function sendDeadLetters(
  options: BulkStopOptions,
  deadLetters: DeadLetter[],
  reports: Map<string, MessageReport>,
) {
  if (deadLetters.length === 0) return;
  const toRetry = (letter: DeadLetter, detail: string) => {
    const report = reports.get(letter.record.messageId);
    reports.set(letter.record.messageId, {
      ...(report as MessageReport),
      disposition: 'retry',
      errorMessage: `${letter.errorMessage} (DLQ send failed: ${detail})`,
    });
  };
  try {
    const failed = await sendBatches(
      options.sqs,
      options.dlqUrl,
      deadLetters,
      (letter) => ({
        body: letter.record.body,
        attributes: {
          errorCode: letter.errorCode,
          errorMessage: attributeText(letter.errorMessage),
        },
      }),
      { fitOversized: trimmedDeadLetter },
    );
    for (const { item, code } of failed) toRetry(item, code);
  } catch (error) {
    logger.error('could not send to the dead-letter queue', { error });
    for (const letter of deadLetters) toRetry(letter, (error as Error).name);
  }
}

/**
 * A dead letter too large for SQS, made to fit and kept recoverable. It has the same `errorCode`
 * and `errorMessage`, and also:
 * - `bodyTrimmed`: `"true"`;
 * - `originalMessageId`: the message's id on the stop queue (in the queue function's log lines);
 * - `originalBodyBytes`: the full body's size in UTF-8 bytes (decimal);
 * - `originalBodySha256`: the SHA-256 of the full body's UTF-8 bytes, in lowercase hex.
 *
 * Its body is the longest prefix of the original body, cut between characters (valid UTF-8, nothing
 * appended), that makes the whole message, attributes included, at most 262,144 bytes. The producer
 * still has the full body: its SHA-256 tells which one it is.
 */
function trimmedDeadLetter(letter: DeadLetter, entry: BatchEntry): BatchEntry {
  const body = letter.record.body;
  const attributes = {
    ...entry.attributes,
    bodyTrimmed: 'true',
    originalMessageId: attributeText(letter.record.messageId),
    originalBodyBytes: String(utf8Bytes(body)),
    originalBodySha256: createHash('sha256').update(body, 'utf8').digest('hex'),
  };
  const room = SQS_MESSAGE_BYTES - entryBytes({ body: '', attributes });
  const trimmed = { body: truncateUtf8(body, room), attributes };
  logger.warn('dead letter trimmed to fit SQS', {
    messageId: letter.record.messageId,
    originalBodyBytes: attributes.originalBodyBytes,
    originalBodySha256: attributes.originalBodySha256,
    sentBodyBytes: utf8Bytes(trimmed.body),
  });
  return trimmed;
}

function logReport(report: MessageReport): void {
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
function reportBatch(reports: MessageReport[]): void {
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
}
