import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** serverless.yml's: retried messages outlast 24 h of LakeFormation outage (docs/queue.md, "Riding out outages and throttling"). */
export const MAX_RECEIVE_COUNT = 1000;

/**
 * Creates a stop queue and its dead-letter queue with a redrive policy, as serverless.yml declares
 * them (locally with a short visibility timeout, so that failed messages come back quickly).
 */
export async function createStopQueues(
  sqs: SQSClient,
  {
    name,
    visibilityTimeoutSeconds,
    maxReceiveCount = MAX_RECEIVE_COUNT,
  }: { name: string; visibilityTimeoutSeconds: number; maxReceiveCount?: number },
): Promise<{ queueUrl: string; dlqUrl: string }> {
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl ?? '';
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl ?? '', dlqUrl };
}
