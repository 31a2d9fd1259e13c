import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import { credentialsLoader } from '../../lib/upstream/huawei/credentials.js';
import { createCredentialsAuthorizer } from '../../lib/upstream/huawei/credentials-authorizer.js';
import { createTokenProvider } from '../../lib/upstream/huawei/token-provider.js';
import { createLakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import type { FetchLike } from '../../lib/upstream/transport/fetch-text.js';
import { nodeFetch } from '../../lib/upstream/transport/node-fetch.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { pollOnce, type SqsHandler } from '../../local/sqs-poller.js';
import { uniqueName, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, PROJECT, testEmulator } from '../support/emulator.js';
import { forJob, httpEvent, parse, withBearer } from '../support/http.js';
import { lambdaContext } from '../support/lambda.js';
import { captureLogs, registerSecret } from '../support/logs.js';

/** The access keys the emulated gateway knows: a permanent one and a temporary one (with its STS token). */
const KEY = { accessKey: 'HPUAINTEGRATION0001', secretKey: 'integration-aksk-secret-key' };
const TEMPORARY = {
  accessKey: 'HPUAINTEGRATIONTMP1',
  secretKey: 'integration-aksk-temporary-secret',
  securityToken: 'integration-aksk-security-token-1',
};
const RENEWED_TOKEN = 'integration-aksk-security-token-2';
/** The gateway's key with another secret key: its signatures do not match, and the gateway quotes their input. */
const WRONG_SECRET = { accessKey: KEY.accessKey, secretKey: 'integration-aksk-wrong-secret-key' };
/** A key the gateway does not know (deleted in IAM). */
const DELETED = { accessKey: 'HPUAINTEGRATIONGONE', secretKey: 'integration-aksk-deleted-secret' };
const BEARER = 'integration-aksk-bearer';
registerSecret(
  KEY.secretKey,
  TEMPORARY.secretKey,
  TEMPORARY.securityToken,
  RENEWED_TOKEN,
  DELETED.secretKey,
  WRONG_SECRET.secretKey,
  BEARER,
);

let emulator: LakeFormationEmulator;
/** The emulated gateway's clock: the real one, moved by this much. */
let gatewayOffsetMs = 0;
let secrets: SecretsManagerClient;
let sqs: SQSClient;
let stopJob: (event: StopJobEvent, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let bulkStop: SqsHandler;
/** The signatures the functions sent, each registered with the log scan. */
const signatures: string[] = [];

/**
 * node:http, as the functions use it, recording each request's signature (and registering it as a
 * secret no log line may hold) and its credential headers.
 */
const recordingFetch: FetchLike & { headers: Record<string, string>[] } = Object.assign(
  (async (url, init) => {
    const headers = Object.fromEntries(
      Object.entries(init.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
    );
    recordingFetch.headers.push(headers);
    const signature = /Signature=([0-9a-f]{64})/.exec(headers.authorization ?? '')?.[1];
    if (signature) {
      signatures.push(signature);
      registerSecret(signature);
    }
    return nodeFetch(url, init);
  }) as FetchLike,
  { headers: [] as Record<string, string>[] },
);

async function createSecret(prefix: string, value: unknown): Promise<string> {
  const name = uniqueName(prefix);
  await secrets.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }));
  return name;
}

/** Points the functions at `secretId` for the Huawei credentials; the next use builds everything anew. */
function useCredentials(secretId: string): void {
  vi.stubEnv('HUAWEICLOUD_CREDENTIALS_SECRET_ID', secretId);
  resetContainer({ transport: recordingFetch });
}

async function stats(): Promise<{ tokensIssued: number; signed: number; signatureRefused: number }> {
  return (await fetch(`${emulator.url}/_admin/stats`)).json() as Promise<{
    tokensIssued: number;
    signed: number;
    signatureRefused: number;
  }>;
}

function runningJob(name: string) {
  return emulator.store.add(INSTANCE, { name, type: 'METADATA_MIGRATION', status: 'RUNNING' });
}

const stopRequest = (jobId: string) => withBearer(forJob(httpEvent('http-stop-job-bearer'), jobId), BEARER);

beforeAll(async () => {
  useMoto();
  secrets = new SecretsManagerClient({});
  sqs = new SQSClient({});
  emulator = await testEmulator({
    stopDelayMs: 20,
    accessKeys: [KEY, TEMPORARY],
    requireSignatures: true,
    now: () => Date.now() + gatewayOffsetMs,
  });
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) {
    // no password trio: the only credentials are the secret's
    if (!/^HUAWEICLOUD_(USER_NAME|PASSWORD|DOMAIN_NAME)$/.test(key)) vi.stubEnv(key, value);
  }
  const webhookSecret = await createSecret('aksk-webhook', { hmacKeys: [], bearerTokens: [BEARER] });
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('aksk-dlq') }))).QueueUrl;
  vi.stubEnv('WEBHOOK_SECRET_ID', webhookSecret);
  vi.stubEnv('STOP_DLQ_URL', dlqUrl ?? '');
  vi.stubEnv('HUAWEICLOUD_CREDENTIALS_SECRET_ID', await createSecret('aksk-credentials', KEY));
  ({ handler: stopJob } = (await import('../../functions/stop-job.js')) as unknown as {
    handler: typeof stopJob;
  });
  ({ handler: bulkStop } = (await import('../../functions/bulk-stop.js')) as unknown as {
    handler: SqsHandler;
  });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

beforeEach(() => {
  gatewayOffsetMs = 0;
  emulator.requests.length = 0;
  emulator.tokensIssued = 0;
  recordingFetch.headers.length = 0;
  resetContainer({ transport: recordingFetch });
});

describe('the functions with AK/SK credentials from Secrets Manager (moto), against a gateway that requires signatures', () => {
  it('the HTTP function stops a job with signed requests only, and no IAM request', async () => {
    useCredentials(await createSecret('aksk-credentials', KEY));
    const job = runningJob('aksk_http_target');
    const before = await stats();

    const response = parse(await stopJob(stopRequest(job.id), lambdaContext(20_000)));

    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({ jobId: job.id, outcome: 'STOP_REQUESTED' });
    expect(job.stopsAccepted).toBe(1);
    const after = await stats();
    expect(after.tokensIssued).toBe(0);
    expect(emulator.requestsWhere({ target: 'iam' })).toEqual([]);
    expect(after.signed - before.signed).toBe(recordingFetch.headers.length);
    expect(after.signatureRefused - before.signatureRefused).toBe(0);
    for (const headers of recordingFetch.headers) {
      expect(headers.authorization).toMatch(/^SDK-HMAC-SHA256 Access=HPUAINTEGRATION0001, /);
      expect(headers['x-project-id']).toBe(PROJECT);
      expect(headers).not.toHaveProperty('x-auth-token');
    }
  });

  it('the queue function stops a job from a message on a real queue, signed, with no IAM request', async () => {
    useCredentials(await createSecret('aksk-credentials', KEY));
    const job = runningJob('aksk_queue_target');
    const queueUrl =
      (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('aksk-stop') }))).QueueUrl ?? '';
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ jobId: job.id, source: 'test' }),
      }),
    );

    const result = await pollOnce({ sqs, queueUrl, handler: bulkStop, waitTimeSeconds: 1 });

    expect(result.received).toBe(1);
    expect([result.deleted, result.failed, result.error]).toEqual([1, 0, undefined]);
    expect(job.stopsAccepted).toBe(1);
    expect((await stats()).tokensIssued).toBe(0);
    expect(emulator.requestsWhere({ target: 'iam' })).toEqual([]);
    expect(recordingFetch.headers.length).toBeGreaterThan(0);
    expect(
      recordingFetch.headers.every((headers) => headers.authorization?.startsWith('SDK-HMAC-SHA256 ')),
    ).toBe(true);
  });

  it('picks up renewed temporary credentials: the refused security token makes it read the secret again', async () => {
    const secretId = await createSecret('aksk-temporary', TEMPORARY);
    useCredentials(secretId);
    const first = runningJob('aksk_temporary_1');
    expect(parse(await stopJob(stopRequest(first.id), lambdaContext(20_000))).statusCode).toBe(202);
    expect(recordingFetch.headers.at(-1)?.['x-security-token']).toBe(TEMPORARY.securityToken);

    // the STS token is renewed: the gateway takes only the new one, and the secret holds it
    await fetch(`${emulator.url}/_admin/access-keys`, {
      method: 'PUT',
      body: JSON.stringify({ accessKeys: [{ ...TEMPORARY, securityToken: RENEWED_TOKEN }] }),
    });
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        SecretString: JSON.stringify({ ...TEMPORARY, securityToken: RENEWED_TOKEN }),
      }),
    );
    const second = runningJob('aksk_temporary_2');
    const refusedBefore = (await stats()).signatureRefused;
    const response = parse(await stopJob(stopRequest(second.id), lambdaContext(20_000)));

    expect(response.statusCode).toBe(202);
    expect(second.stopsAccepted).toBe(1);
    expect((await stats()).signatureRefused - refusedBefore).toBe(1);
    expect(recordingFetch.headers.at(-1)?.['x-security-token']).toBe(RENEWED_TOKEN);
  });

  it('answers 502 UPSTREAM_ERROR when the key is refused again after the secret was read again', async () => {
    useCredentials(await createSecret('aksk-deleted', DELETED));
    const job = runningJob('aksk_deleted_key');

    const response = parse(await stopJob(stopRequest(job.id), lambdaContext(20_000)));

    expect(response.statusCode).toBe(502);
    expect(response.body).toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect(String(response.body.detail)).toContain('also after the credentials were read again');
    expect(job.stopsAccepted).toBe(0);
    // two signed tries: the second after the secret was read again
    expect(recordingFetch.headers).toHaveLength(2);
    expect((await stats()).tokensIssued).toBe(0);
  });

  it('keeps the signature input the gateway quotes for a wrong secret key out of the answer and the logs', async () => {
    const logs = captureLogs();
    useCredentials(await createSecret('aksk-wrong-secret', WRONG_SECRET));
    const job = runningJob('aksk_wrong_secret');

    const response = parse(await stopJob(stopRequest(job.id), lambdaContext(20_000)));

    expect(response.statusCode).toBe(502);
    expect(job.stopsAccepted).toBe(0);
    const said = JSON.stringify([response.body, logs.lines]);
    // the gateway's refusal reached us, its canonical request did not
    expect(said).toContain('verify aksk signature fail, canonicalRequest:[REDACTED]');
    expect(said).not.toMatch(/canonicalRequest:(?!\[REDACTED\])/);
    expect(said).not.toContain('x-sdk-date:');
  });

  it('reports the queue message as a failure to retry when the key is refused', async () => {
    useCredentials(await createSecret('aksk-deleted', DELETED));
    const job = runningJob('aksk_deleted_key_queue');
    const queueUrl =
      (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('aksk-stop') }))).QueueUrl ?? '';
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ jobId: job.id }) }),
    );

    const result = await pollOnce({ sqs, queueUrl, handler: bulkStop, waitTimeSeconds: 1 });

    expect([result.received, result.deleted, result.failed]).toEqual([1, 0, 1]);
    expect(job.stopsAccepted).toBe(0);
  });

  it("says that this host's clock is off when the gateway's is 20 minutes ahead, and logs it once", async () => {
    useCredentials(await createSecret('aksk-credentials', KEY));
    gatewayOffsetMs = 20 * 60_000 + 10_000;
    const logs = captureLogs();
    const job = runningJob('aksk_skewed');

    const response = parse(await stopJob(stopRequest(job.id), lambdaContext(20_000)));
    const again = parse(await stopJob(stopRequest(job.id), lambdaContext(20_000)));

    expect(response.statusCode).toBe(502);
    expect(response.body.detail).toBe(
      "this host's clock is 20 min off LakeFormation's; signed requests more than 15 minutes off are refused",
    );
    expect(again.body.detail).toBe(response.body.detail);
    // one signed try each: a key read again cannot help a clock
    expect(recordingFetch.headers).toHaveLength(2);
    expect(job.stopsAccepted).toBe(0);
    const warnings = logs.lines.filter(
      (line) => line.level === 'WARN' && String(line.message).startsWith("this host's clock is"),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ clockSkewMinutes: 20 });
  });

  it('the client lists jobs with a space in the name pattern, signed, and the gateway takes it', async () => {
    const credentials = credentialsLoader({ kind: 'env-aksk', ...KEY });
    const tokens = createTokenProvider({ iamEndpoint: emulator.url, projectId: PROJECT, credentials });
    const client = createLakeFormationClient({
      endpoint: emulator.url,
      projectId: PROJECT,
      authorizer: createCredentialsAuthorizer({ credentials, tokens, projectId: PROJECT }),
      fetch: recordingFetch,
    });
    emulator.store.add(INSTANCE, { name: 'aksk spaced name', type: 'METADATA_DISCOVERY', status: 'RUNNING' });

    const page = await client.listJobs({
      instanceId: INSTANCE,
      type: 'METADATA_DISCOVERY',
      namePattern: 'aksk spaced*',
    });

    expect(page.jobs.map((job) => job.name)).toEqual(['aksk spaced name']);
  });

  it('keeps the signatures it sent out of every log line', () => {
    // the log scan (test/support/log-capture-setup.ts) fails the file if one appears
    expect(signatures.length).toBeGreaterThan(5);
  });
});
