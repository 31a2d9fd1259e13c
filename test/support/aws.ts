import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { USER } from './emulator.js';

/** Points every AWS SDK client created from now on at the suite's moto server. */
export function useMoto(): string {
  const endpoint = inject('motoEndpoint');
  process.env.AWS_ENDPOINT_URL = endpoint;
  return endpoint;
}

/** A name no other test file uses, so files can share one moto server. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Messages waiting, delayed or in flight on the queue. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Receives and deletes every visible message, with its attributes. */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
}

/**
 * The functions' two secrets on moto, under names no other file uses: the emulator user's IAM
 * credentials and the webhook callers' keys.
 */
export async function createFunctionSecrets(
  prefix: string,
  webhookKeys: { hmacKeys?: string[]; bearerTokens?: string[]; linkKeys?: string[] },
): Promise<{ credentialsSecret: string; webhookSecret: string }> {
  const secrets = new SecretsManagerClient({});
  const credentialsSecret = uniqueName(`${prefix}-credentials`);
  const webhookSecret = uniqueName(`${prefix}-webhook-keys`);
  await secrets.send(
    new CreateSecretCommand({
      Name: credentialsSecret,
      SecretString: JSON.stringify({ userName: USER.name, password: USER.password, domainName: USER.domain }),
    }),
  );
  await secrets.send(
    new CreateSecretCommand({ Name: webhookSecret, SecretString: JSON.stringify(webhookKeys) }),
  );
  return { credentialsSecret, webhookSecret };
}

/** A ledger table on moto under a name no other file uses, created as serverless.yml declares it. */
export async function createTestLedger(prefix: string): Promise<string> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { createLedgerTable } = await import('../../local/ledger-table.js');
  return createLedgerTable(new DynamoDBClient({}), uniqueName(`${prefix}-ledger`));
}

/**
 * Records every `PutEvents` entry the AWS SDK sends from now on (and still sends it). Call it in a
 * test or `beforeEach`: vitest restores spies before each test.
 */
export async function recordPutEvents(): Promise<{ DetailType?: string; Detail?: string }[]> {
  const { EventBridgeClient } = await import('@aws-sdk/client-eventbridge');
  const { vi } = await import('vitest');
  const entries: { DetailType?: string; Detail?: string }[] = [];
  const send = EventBridgeClient.prototype.send;
  vi.spyOn(EventBridgeClient.prototype, 'send').mockImplementation(function (
    this: unknown,
    command: unknown,
  ) {
    entries.push(...((command as { input?: { Entries?: [] } }).input?.Entries ?? []));
    return Reflect.apply(send, this, [command]);
  } as typeof send);
  return entries;
}
