import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { AWS_CLIENT_OPTIONS } from './aws/client-options.js';
import { checkStopMessage, type StopMessage } from './stop-message.js';

let client: SQSClient | undefined;

/** The container's SQS client (it honours `AWS_ENDPOINT_URL`). */
export function getSqsClient(): SQSClient {
  client ??= new SQSClient(AWS_CLIENT_OPTIONS);
  return client;
}

/**
 * An SQS client, or what makes one when the first message is sent: a function's run that sends
 * nothing (most reaper runs and queue batches) then never builds its client (~1.5 ms of a cold start).
 */
export type SqsClientSource = SQSClient | (() => SQSClient);

/** SQS takes at most 10 entries per `SendMessageBatch`. */
export const SQS_BATCH_LIMIT = 10;

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

/**
 * Sends every entry with `SendMessageBatch`, 10 at a time, sending again the entries a batch reports
 * as failed (up to `maxAttempts`; sender faults, which cannot succeed, are not re-sent). Entries
 * still failing are returned; a call that fails as a whole throws.
 */
export async function sendBatches<T>(
  source: SqsClientSource,
  queueUrl: string,
  items: readonly T[],
  toEntry: (item: T) => BatchEntry,
  { maxAttempts = 3 }: { maxAttempts?: number } = {},
): Promise<FailedEntry<T>[]> {
  const failed: FailedEntry<T>[] = [];
  if (items.length === 0) return failed;
  const sqs = typeof source === 'function' ? source() : source;
  for (let start = 0; start < items.length; start += SQS_BATCH_LIMIT) {
    let pending = items
      .slice(start, start + SQS_BATCH_LIMIT)
      .map((item, index) => ({ item, id: String(index) }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const entries: SendMessageBatchRequestEntry[] = pending.map(({ item, id }) => {
        const entry = toEntry(item);
        return {
          Id: id,
          MessageBody: entry.body,
          ...(entry.attributes && {
            MessageAttributes: Object.fromEntries(
              Object.entries(entry.attributes).map(([name, value]) => [
                name,
                { DataType: 'String', StringValue: value },
              ]),
            ),
          }),
        };
      });
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

/**
 * The producer side of the stop queue: validates each message against the schema, then sends them
 * in batches of 10. Invalid messages are refused before anything is sent.
 *
 * @example
 * await enqueueStops(queueUrl, [{ jobId, reason: 'runaway', source: 'ops-cli' }]);
 */
export async function enqueueStops(
  queueUrl: string,
  messages: readonly StopMessage[],
  sqs: SQSClient = getSqsClient(),
): Promise<{ sent: number; failed: FailedEntry<StopMessage>[] }> {
  messages.forEach((message, index) => {
    const check = checkStopMessage(message);
    if (!check.ok) throw new TypeError(`message ${index}: ${check.errorMessage}`);
  });
  const failed = await sendBatches(sqs, queueUrl, messages, (message) => ({ body: JSON.stringify(message) }));
  return { sent: messages.length - failed.length, failed };
}
