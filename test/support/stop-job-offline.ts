import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, vi } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import type { WebhookKeys } from '../../lib/edge/http/webhook-keys.js';
import { lambdaContext } from './lambda.js';
import { stubOfflineEnv } from './offline-env.js';
import { upstreamFetch } from './upstream-fetch.js';

/**
 * The HTTP function with no network, for the test file that calls this at its top: its environment
 * stubbed, IAM and LakeFormation answered by `upstream`, the caller keys `keys` read from a mocked
 * Secrets Manager (reset before each test, with the secrets cache), and the ledger on a mocked DynamoDB
 * that takes every write (every stop claims; `ledger` can be told otherwise).
 */
export function offlineStopJob(options: {
  instanceId: string;
  allowedInstanceIds: string;
  password: string;
  keys: WebhookKeys;
  /** Further environment, e.g. `HUAWEICLOUD_CREDENTIALS_SECRET_ID` to read the credentials from the mock. */
  env?: Record<string, string>;
}) {
  const secretId = 'webhook-keys';
  const secretsManager = mockClient(SecretsManagerClient);
  const ledger = mockClient(DynamoDBClient);
  // the confirmation checks and lifecycle events of accepted stops
  const confirmQueue = mockClient(SQSClient);
  const events = mockClient(EventBridgeClient);
  const upstream = upstreamFetch();
  let handler: (event: StopJobEvent, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

  beforeAll(async () => {
    stubOfflineEnv({ ...options, extra: { WEBHOOK_SECRET_ID: secretId, ...options.env } });
    ({ handler } = (await import('../../functions/stop-job.js')) as unknown as { handler: typeof handler });
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });
  beforeEach(() => {
    secretsManager.reset();
    secretsManager
      .on(GetSecretValueCommand, { SecretId: secretId })
      .resolves({ SecretString: JSON.stringify(options.keys) });
    ledger.reset();
    ledger.onAnyCommand().resolves({});
    confirmQueue.reset();
    confirmQueue.onAnyCommand().resolves({});
    events.reset();
    events.onAnyCommand().resolves({ Entries: [], FailedEntryCount: 0 });
    resetContainer({ transport: upstream.fetch });
  });

  return {
    secretsManager,
    ledger,
    confirmQueue,
    events,
    upstream,
    /** One invocation with `remainingMs` left before the Lambda timeout. */
    invoke: (event: StopJobEvent, remainingMs = 20_000) => handler(event, lambdaContext(remainingMs)),
  };
}
