import { createHash } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import type { DeadLetterCode } from '../../domain/failures.js';
import { logger } from '../../platform/logger.js';
import {
  type BatchEntry,
  entryBytes,
  SQS_MESSAGE_BYTES,
  type SqsClientSource,
  sendBatches,
  truncateUtf8,
  utf8Bytes,
} from '../../upstream/aws/sqs.js';
import type { MessageReport } from './batch-log.js';

/** A message that can never succeed, for the DLQ: its body as received, and why (its attributes). */
export interface DeadLetter {
  record: SQSRecord;
  errorCode: DeadLetterCode;
  errorMessage: string;
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
 * Sends the dead letters to the DLQ, in calls within SQS's limits (10 entries, 256 KiB with the
 * attributes: see `sendBatches`). A letter whose send failed turns into a retry in `reports`
 * (`… (DLQ send failed: <code>)`), so nothing is dropped.
 *
 * A dead letter is the original body, unchanged, with string attributes `errorCode` and
 * `errorMessage`. One too large for SQS with those attributes (body + every attribute's name,
 * `String` and value, in UTF-8 bytes, over 262,144) is sent trimmed instead ({@link trimmedDeadLetter}).
 */
export async function sendDeadLetters(
  options: { sqs: SqsClientSource; dlqUrl: string },
  deadLetters: readonly DeadLetter[],
  reports: Map<string, MessageReport>,
): Promise<void> {
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
function trimmedDeadLetter({ record }: DeadLetter, entry: BatchEntry): BatchEntry {
  const body = record.body;
  const attributes = {
    ...entry.attributes,
    bodyTrimmed: 'true',
    originalMessageId: attributeText(record.messageId),
    originalBodyBytes: String(utf8Bytes(body)),
    originalBodySha256: createHash('sha256').update(body, 'utf8').digest('hex'),
  };
  const room = SQS_MESSAGE_BYTES - entryBytes({ body: '', attributes });
  const trimmed = { body: truncateUtf8(body, room), attributes };
  logger.warn('dead letter trimmed to fit SQS', {
    messageId: record.messageId,
    originalBodyBytes: attributes.originalBodyBytes,
    originalBodySha256: attributes.originalBodySha256,
    sentBodyBytes: utf8Bytes(trimmed.body),
  });
  return trimmed;
}
