import type { SQSClient } from '@aws-sdk/client-sqs';
import { type FailedEntry, getSqsClient, sendBatches } from '../upstream/aws/sqs.js';
import { checkStopMessage, type StopMessage } from './stop-request.js';

/**
 * The producer side of the stop queue: validates each message against the schema, then sends them
 * in batches of 10 (and 256 KiB). Invalid messages, and any too large for SQS, are refused before
 * anything is sent.
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
  const failed = await sendBatches(
    sqs,
    queueUrl,
    messages,
    (message) => ({ body: JSON.stringify(message) }),
    {
      label: (message) => `jobId ${message.jobId}`,
    },
  );
  return { sent: messages.length - failed.length, failed };
}
