import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { pausedDelaySeconds, type RetryBackoff, retryDelaySeconds } from '../../domain/retry-policy.js';
import { logger } from '../../platform/logger.js';
import { SQS_BATCH_LIMIT, type SqsClientSource } from '../../upstream/aws/sqs.js';

/** A message to be retried, and what its failure said about when. */
export interface Retry {
  record: SQSRecord;
  /** A least wait (`Retry-After`). */
  retryAfterSeconds?: number;
  /** No call was made: back no later than the breaker's next probe. */
  probeInSeconds?: number;
}

/** The visibility timeout a retried message gets, by its receive count (domain/retry-policy.ts). */
export function retryVisibility(
  retry: Retry,
  backoff: RetryBackoff,
  random: () => number = Math.random,
): number {
  const receiveCount = Number(retry.record.attributes?.ApproximateReceiveCount ?? 1);
  return retry.probeInSeconds !== undefined
    ? pausedDelaySeconds(receiveCount, retry.probeInSeconds, backoff, random)
    : retryDelaySeconds(receiveCount, backoff, random, retry.retryAfterSeconds ?? 0);
}

/**
 * Sets each retried message's visibility timeout (`ChangeMessageVisibilityBatch`, 10 at a time), so
 * that it comes back after its back-off instead of the queue's visibility timeout. A change that
 * fails is logged: that message comes back after the queue's timeout, nothing is lost.
 */
export async function deferRetries(
  sqs: SqsClientSource,
  queueUrl: string,
  retries: readonly { record: SQSRecord; seconds: number }[],
): Promise<void> {
  if (retries.length === 0) return;
  const client: SQSClient = typeof sqs === 'function' ? sqs() : sqs;
  for (let start = 0; start < retries.length; start += SQS_BATCH_LIMIT) {
    const batch = retries.slice(start, start + SQS_BATCH_LIMIT);
    try {
      const result = await client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map(({ record, seconds }, index) => ({
            Id: String(index),
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: seconds,
          })),
        }),
      );
      for (const failed of result.Failed ?? []) {
        logger.warn('the back-off of a retried message could not be set', {
          messageId: batch[Number(failed.Id)]?.record.messageId,
          code: failed.Code,
        });
      }
    } catch (error) {
      logger.warn('the back-off of retried messages could not be set', {
        messageIds: batch.map(({ record }) => record.messageId),
        error,
      });
    }
  }
}
