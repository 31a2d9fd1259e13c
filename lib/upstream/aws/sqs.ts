import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { containerCell } from '../../platform/container-state.js';
import { AWS_CLIENT_OPTIONS } from './client-options.js';

/** The container's SQS client (it honours `AWS_ENDPOINT_URL`). */
export const getSqsClient = /* @__PURE__ */ containerCell(() => new SQSClient(AWS_CLIENT_OPTIONS));

/**
 * An SQS client, or what makes one when the first message is sent: a function's run that sends
 * nothing (most reaper runs and queue batches) then never builds its client (~1.5 ms of a cold start).
 */
export type SqsClientSource = SQSClient | (() => SQSClient);

/** SQS takes at most 10 entries per `SendMessageBatch`. */
export const SQS_BATCH_LIMIT = 10;

/**
 * SQS's size limit for one message, as this service's queues are sized: 256 KiB. It counts the body
 * and every message attribute's name, data type and value, in UTF-8 bytes ({@link entryBytes}).
 */
export const SQS_MESSAGE_BYTES = 262_144;

/** SQS's limit for a whole `SendMessageBatch` call: the sum of its messages' sizes, counted alike. */
export const SQS_BATCH_BYTES = 262_144;

/** The `DataType` of every attribute sent; SQS counts its bytes too. */
const STRING_TYPE = 'String';

export interface BatchEntry {
  body: string;
  /** String message attributes, e.g. `errorCode` on a DLQ copy. */
  attributes?: Record<string, string>;
}

export interface FailedEntry<T> {
  item: T;
  code: string;
  message: string;
}

/** Bytes of `text` in UTF-8 (what SQS counts; a lone surrogate is sent as U+FFFD, 3 bytes). */
export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * An entry's size as SQS counts it against {@link SQS_MESSAGE_BYTES} and {@link SQS_BATCH_BYTES}:
 * the body, plus for each attribute its name, its data type (`String`) and its value, in UTF-8 bytes.
 */
export function entryBytes(entry: BatchEntry): number {
  let bytes = utf8Bytes(entry.body);
  for (const [name, value] of Object.entries(entry.attributes ?? {})) {
    bytes += utf8Bytes(name) + utf8Bytes(STRING_TYPE) + utf8Bytes(value);
  }
  return bytes;
}

/**
 * The longest prefix of `text` of at most `maxBytes` bytes of UTF-8, cut between code points (never
 * inside a character or a surrogate pair), so it is valid UTF-8 and a prefix of `text`.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const point = char.codePointAt(0) ?? 0;
    // a lone surrogate (U+D800..U+DFFF) is sent as U+FFFD: 3 bytes, like the rest of U+0800..U+FFFF
    const size = point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/** An entry SQS would refuse for its size; thrown before anything of the call is sent. */
export class EntryTooLargeError extends RangeError {
  override name = 'EntryTooLargeError';
  constructor(
    readonly index: number,
    readonly bytes: number,
    label?: string,
  ) {
    super(
      `message ${index}${label ? ` (${label})` : ''} is ${bytes} bytes with its attributes; ` +
        `SQS takes at most ${SQS_MESSAGE_BYTES}: nothing was sent`,
    );
  }
}

export interface SendBatchesOptions<T> {
  /** Sends of an entry a batch reports as failed, at most. @default 3 */
  maxAttempts?: number;
  /**
   * What to send instead of an entry too large for SQS on its own (`bytes` > {@link SQS_MESSAGE_BYTES}),
   * e.g. a trimmed dead letter; what it returns must fit. Without it, such an entry is refused.
   */
  fitOversized?: (item: T, entry: BatchEntry, bytes: number) => BatchEntry;
  /** Names an item in the error refusing it, e.g. `jobId …`. */
  label?: (item: T) => string;
}

/**
 * Sends every entry with `SendMessageBatch`, in calls of at most {@link SQS_BATCH_LIMIT} entries and
 * {@link SQS_BATCH_BYTES} (counted as SQS counts them, {@link entryBytes}), in order, sending again the
 * entries a call reports as failed (up to `maxAttempts`; sender faults, which cannot succeed, are not
 * re-sent). Entries still failing are returned; a call that fails as a whole throws.
 *
 * An entry over {@link SQS_MESSAGE_BYTES} on its own is replaced by what `fitOversized` makes of it;
 * without `fitOversized` (or if that is still too large), an {@link EntryTooLargeError} naming it is
 * thrown before anything is sent: it is never trimmed silently.
 */
export async function sendBatches<T>(
  source: SqsClientSource,
  queueUrl: string,
  items: readonly T[],
  toEntry: (item: T) => BatchEntry,
  { maxAttempts = 3, fitOversized, label }: SendBatchesOptions<T> = {},
): Promise<FailedEntry<T>[]> {
  const failed: FailedEntry<T>[] = [];
  if (items.length === 0) return failed;
  const sized = items.map((item, index) => {
    let entry = toEntry(item);
    let bytes = entryBytes(entry);
    if (bytes > SQS_MESSAGE_BYTES && fitOversized) {
      entry = fitOversized(item, entry, bytes);
      bytes = entryBytes(entry);
    }
    if (bytes > SQS_MESSAGE_BYTES) throw new EntryTooLargeError(index, bytes, label?.(item));
    return { item, entry, bytes };
  });
  const sqs = typeof source === 'function' ? source() : source;
  for (const batch of packBatches(sized)) {
    let pending = batch.map((sent, index) => ({ ...sent, id: String(index) }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const entries: SendMessageBatchRequestEntry[] = pending.map(({ entry, id }) => ({
        Id: id,
        MessageBody: entry.body,
        ...(entry.attributes && {
          MessageAttributes: Object.fromEntries(
            Object.entries(entry.attributes).map(([name, value]) => [
              name,
              { DataType: STRING_TYPE, StringValue: value },
            ]),
          ),
        }),
      }));
      const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      const failures = new Map((result.Failed ?? []).map((failure) => [failure.Id, failure]));
      const retry: typeof pending = [];
      for (const entry of pending) {
        const failure = failures.get(entry.id);
        if (!failure) continue;
        if (!failure.SenderFault && attempt < maxAttempts) retry.push(entry);
        else
          failed.push({ item: entry.item, code: failure.Code ?? 'Unknown', message: failure.Message ?? '' });
      }
      pending = retry;
    }
  }
  return failed;
}

/** Consecutive entries, in order, in as few calls as the entry and byte limits allow (each fits alone). */
function packBatches<E extends { bytes: number }>(sized: readonly E[]): E[][] {
  const batches: E[][] = [];
  let current: E[] = [];
  let bytes = 0;
  for (const entry of sized) {
    if (current.length === SQS_BATCH_LIMIT || bytes + entry.bytes > SQS_BATCH_BYTES) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
