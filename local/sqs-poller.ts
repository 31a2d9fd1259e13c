import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context.js';

/**
 * A local stand-in for Lambda's SQS event source mapping: receive a batch, invoke the handler,
 * delete what it acknowledged and leave its `batchItemFailures` (and everything, if it throws) to
 * reappear after the visibility timeout, so the queue's redrive policy moves repeat failures to
 * the DLQ as it would in AWS.
 */

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: SqsHandler;
  /** 1..10. @default 10 */
  batchSize?: number;
  /** Long-poll wait. @default 1 */
  waitTimeSeconds?: number;
  /** The Lambda timeout the handler sees through `getRemainingTimeInMillis`. @default 60000 */
  functionTimeoutMs?: number;
  /** The function's name in its context (and so in its log lines). @default bulkStop */
  functionName?: string;
  /** Batches processed at once (Lambda's concurrency). @default 1 */
  concurrency?: number;
  onBatch?: (result: BatchResult) => void;
}

export interface BatchResult {
  received: number;
  deleted: number;
  failed: number;
  /** The handler threw: every message of the batch stays on the queue. */
  error?: unknown;
}

const ARN_CACHE = new Map<string, string>();

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  let arn = ARN_CACHE.get(queueUrl);
  if (!arn) {
    const result = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    arn = result.Attributes?.QueueArn ?? `arn:aws:sqs:local:000000000000:${queueUrl.split('/').pop()}`;
    ARN_CACHE.set(queueUrl, arn);
  }
  return arn;
}

function toRecord(message: Message, arn: string, region: string): SQSRecord {
  const attributes = (message.Attributes ?? {}) as Record<string, string>;
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}

/** One receive → invoke → delete cycle. */
export async function pollOnce(options: PollerOptions): Promise<BatchResult> {
  const { sqs, queueUrl } = options;
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: options.batchSize ?? 10,
      WaitTimeSeconds: options.waitTimeSeconds ?? 1,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  const messages = received.Messages ?? [];
  if (messages.length === 0) return { received: 0, deleted: 0, failed: 0 };
  const arn = await queueArn(sqs, queueUrl);
  const region = (await sqs.config.region()) ?? 'local';
  const event: SQSEvent = { Records: messages.map((message) => toRecord(message, arn, region)) };

  let failedIds: Set<string>;
  let error: unknown;
  try {
    const response = await options.handler(
      event,
      lambdaContext(options.functionName ?? 'bulkStop', options.functionTimeoutMs ?? 60_000),
    );
    failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
  } catch (caught) {
    error = caught;
    failedIds = new Set(event.Records.map((record) => record.messageId));
  }
  const acknowledged = event.Records.filter((record) => !failedIds.has(record.messageId));
  for (let start = 0; start < acknowledged.length; start += 10) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: acknowledged
          .slice(start, start + 10)
          .map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
      }),
    );
  }
  const result: BatchResult = {
    received: messages.length,
    deleted: acknowledged.length,
    failed: failedIds.size,
  };
  if (error !== undefined) result.error = error;
  options.onBatch?.(result);
  return result;
}

/** Polls until `stop()`; `concurrency` loops run side by side. */
export function startPoller(options: PollerOptions): { stop: () => Promise<void> } {
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        await pollOnce(options);
      } catch {
        // the queue was unreachable (e.g. shutting down): back off a little and try again
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const loops = Array.from({ length: options.concurrency ?? 1 }, loop);
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
