import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { createFunctionSecrets, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator } from '../support/emulator.js';
import { forJob, httpEvent, parse, signed, withBearer } from '../support/http.js';
import { lambdaContext } from '../support/lambda.js';
import { registerSecret } from '../support/logs.js';

const HMAC_KEY = 'ledger-hmac-key';
const BEARER = 'ledger-bearer-token';
registerSecret(HMAC_KEY, BEARER);

type Handler = (event: StopJobEvent, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let emulator: LakeFormationEmulator;
let stopJob: Handler;
let readStops: Handler;

beforeAll(async () => {
  useMoto();
  emulator = await testEmulator({ stopDelayMs: 60_000 });
  const { credentialsSecret, webhookSecret } = await createFunctionSecrets('ledger-http', {
    hmacKeys: [HMAC_KEY],
    bearerTokens: [BEARER],
  });
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) vi.stubEnv(key, value);
  vi.stubEnv('HUAWEICLOUD_CREDENTIALS_SECRET_ID', credentialsSecret);
  vi.stubEnv('WEBHOOK_SECRET_ID', webhookSecret);
  ({ handler: stopJob } = (await import('../../functions/stop-job.js')) as unknown as { handler: Handler });
  ({ handler: readStops } = (await import('../../functions/read-stops.js')) as unknown as {
    handler: Handler;
  });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

beforeEach(() => {
  emulator.faults.clear();
  resetContainer();
});

const runningJob = () =>
  emulator.store.add(INSTANCE, {
    name: 'ledger_target',
    type: 'METADATA_MIGRATION',
    status: 'RUNNING',
    startedMinutesAgo: 5,
  });
const stopsAccepted = (jobId: string) => emulator.store.get(INSTANCE, jobId)?.stopsAccepted ?? 0;
const call = async (handler: Handler, event: StopJobEvent) =>
  parse(await handler(event, lambdaContext(20_000)));
const bearerStop = (jobId: string, body = '{"reason":"ledger test"}', key?: string) => {
  const event = withBearer(forJob(httpEvent('http-stop-job-bearer'), jobId), BEARER);
  event.body = body;
  if (key !== undefined) event.headers = { ...event.headers, 'idempotency-key': key };
  return event;
};
const receipt = (stopId: string) => {
  const event = withBearer(httpEvent('http-read-stop'), BEARER);
  return { ...event, rawPath: `/stops/${stopId}`, pathParameters: { stopId } };
};
const history = (jobId: string, query: Record<string, string> = {}) => {
  const event = withBearer(httpEvent('http-list-stops'), BEARER);
  return {
    ...event,
    rawPath: `/jobs/${jobId}/stops`,
    pathParameters: { jobId },
    queryStringParameters: query,
  };
};

describe('the webhook and the ledger (emulator, DynamoDB on moto)', () => {
  it('makes one stop call for ten concurrent requests, all answered 202 with one stopId and its receipt', async () => {
    // Prepare
    const job = runningJob();
    emulator.update({ latencyMs: 200 });
    // Act
    const answers = await Promise.all(Array.from({ length: 10 }, () => call(stopJob, bearerStop(job.id))));
    emulator.update({ latencyMs: 0 });
    // Assess
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(202));
    expect(new Set(answers.map((a) => a.body.stopId)).size).toBe(1);
    expect(stopsAccepted(job.id)).toBe(1);
    const stopId = String(answers[0]?.body.stopId);
    const record = await call(readStops, receipt(stopId));
    expect(record.statusCode).toBe(200);
    expect(record.body).toMatchObject({ stopId, jobId: job.id, state: 'REQUESTED', requestCount: 10 });
    expect((record.body.requests as { caller: string }[])[0]).toMatchObject({
      source: 'webhook',
      caller: 'bearer:0',
    });
  });

  it('replays the first answer for a retried Idempotency-Key, with no LakeFormation call', async () => {
    const job = runningJob();
    const first = await call(stopJob, bearerStop(job.id, '{"reason":"once"}', 'retry-key-1'));
    const again = await call(stopJob, bearerStop(job.id, '{"reason":"once"}', 'retry-key-1'));
    expect(first.statusCode).toBe(202);
    expect(again).toMatchObject({ statusCode: 202, body: first.body });
    expect(again.headers['Idempotent-Replayed']).toBe('true');
    expect(first.headers['Idempotent-Replayed']).toBeUndefined();
    expect(stopsAccepted(job.id)).toBe(1);
  });

  it('answers 422 IDEMPOTENCY_KEY_REUSED for the same key with another body', async () => {
    const job = runningJob();
    await call(stopJob, bearerStop(job.id, '{"reason":"first"}', 'reused-key'));
    const other = await call(stopJob, bearerStop(job.id, '{"reason":"second"}', 'reused-key'));
    expect(other).toMatchObject({ statusCode: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } });
  });

  it('does not remember a retryable failure: the same key tries again', async () => {
    const job = runningJob();
    emulator.faults.configure({ script: [{ fault: '500', times: 4, match: { path: '/stop' } }] });
    const failed = await call(stopJob, bearerStop(job.id, '{}', 'flaky-key'));
    const retried = await call(stopJob, bearerStop(job.id, '{}', 'flaky-key'));
    expect(failed.statusCode).toBe(502);
    expect(retried.statusCode).toBe(202);
    expect(retried.headers['Idempotent-Replayed']).toBeUndefined();
  });

  it('answers an accepted stop 202 even when its Idempotency-Key answer cannot be remembered', async () => {
    const job = runningJob();
    const send = DynamoDBClient.prototype.send;
    vi.spyOn(DynamoDBClient.prototype, 'send').mockImplementation(function (this: DynamoDBClient, command) {
      const key = command instanceof UpdateItemCommand ? command.input.Key?.pk?.S : undefined;
      if (key?.startsWith('IDEMPOTENCY#')) return Promise.reject(new Error('ProvisionedThroughputExceeded'));
      return (send as (c: typeof command) => Promise<unknown>).call(this, command);
    } as typeof send);
    const answer = await call(stopJob, bearerStop(job.id, '{"reason":"kept"}', 'unremembered-key'));
    expect(answer.statusCode).toBe(202);
    expect(answer.body.stopId).toEqual(expect.any(String));
    expect(stopsAccepted(job.id)).toBe(1);
    // the key is still in progress: a retry at once is told to wait, and makes no second stop
    const retry = await call(stopJob, bearerStop(job.id, '{"reason":"kept"}', 'unremembered-key'));
    expect(retry).toMatchObject({ statusCode: 409, body: { code: 'IDEMPOTENCY_KEY_IN_USE' } });
    expect(Number(retry.headers['Retry-After'])).toBeGreaterThan(0);
    expect(stopsAccepted(job.id)).toBe(1);
  });

  it('scopes Idempotency-Keys to the credential: the same key from another caller is its own request', async () => {
    const first = runningJob();
    const second = runningJob();
    const bearer = await call(stopJob, bearerStop(first.id, '{}', 'shared-key'));
    const hmac = signed(forJob(httpEvent('http-stop-job-signed'), second.id), HMAC_KEY);
    hmac.headers = { ...hmac.headers, 'idempotency-key': 'shared-key' };
    const other = await call(stopJob, hmac);
    expect(bearer.statusCode).toBe(202);
    expect(other.statusCode).toBe(202);
    expect(other.headers['Idempotent-Replayed']).toBeUndefined();
    expect(other.body.stopId).not.toBe(bearer.body.stopId);
    expect(stopsAccepted(second.id)).toBe(1);
  });

  it('refuses a signature used twice on the same path (401), unless the Idempotency-Key replays it', async () => {
    const job = runningJob();
    const event = signed(forJob(httpEvent('http-stop-job-signed'), job.id), HMAC_KEY);
    const first = await call(stopJob, event);
    const replay = await call(stopJob, structuredClone(event));
    expect(first.statusCode).toBe(202);
    expect(replay).toMatchObject({ statusCode: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(replay.body.detail).toContain('signature already used');

    const keyed = signed(forJob(httpEvent('http-stop-job-signed'), runningJob().id), HMAC_KEY);
    keyed.headers = { ...keyed.headers, 'idempotency-key': 'signed-key' };
    const once = await call(stopJob, keyed);
    const twice = await call(stopJob, structuredClone(keyed));
    expect(twice).toMatchObject({ statusCode: once.statusCode, body: once.body });
    expect(twice.headers['Idempotent-Replayed']).toBe('true');
  });

  it('answers 503 LEDGER_UNAVAILABLE with Retry-After, and makes no stop, when the ledger cannot be written', async () => {
    const job = runningJob();
    vi.stubEnv('STOP_LEDGER_TABLE', 'no-such-ledger-table');
    resetContainer();
    const answer = await call(stopJob, bearerStop(job.id));
    vi.stubEnv('STOP_LEDGER_TABLE', emulatorEnv(emulator).STOP_LEDGER_TABLE ?? '');
    expect(answer).toMatchObject({ statusCode: 503, body: { code: 'LEDGER_UNAVAILABLE' } });
    expect(Number(answer.headers['Retry-After'])).toBeGreaterThan(0);
    expect(stopsAccepted(job.id)).toBe(0);
  });

  it("lists a job's stops newest first, page by page", async () => {
    const job = emulator.store.add(INSTANCE, { name: 'done', type: 'METADATA_MIGRATION', status: 'SUCCESS' });
    for (let i = 0; i < 3; i++) await call(stopJob, bearerStop(job.id, `{"reason":"try ${i}"}`));
    const first = await call(readStops, history(job.id, { limit: '2' }));
    const second = await call(
      readStops,
      history(job.id, { limit: '2', nextToken: String(first.body.nextToken) }),
    );
    const items = [
      ...(first.body.items as { createdAt: string; outcome: string }[]),
      ...(second.body.items as []),
    ];
    expect(items).toHaveLength(3);
    expect(items.map((item) => item.outcome)).toEqual(['NOT_RUNNING', 'NOT_RUNNING', 'NOT_RUNNING']);
    expect(items.map((item) => item.createdAt)).toEqual(
      [...items.map((item) => item.createdAt)].sort().reverse(),
    );
    expect(second.body.nextToken).toBeUndefined();
  });

  it("serves a job's history on the instance route too, and refuses an instance it may not act on", async () => {
    const job = runningJob();
    const stop = await call(stopJob, bearerStop(job.id, '{"reason":"instance route"}'));
    const onInstance = (instanceId: string) => {
      const event = history(job.id);
      return {
        ...event,
        routeKey: 'GET /instances/{instanceId}/jobs/{jobId}/stops',
        rawPath: `/instances/${instanceId}/jobs/${job.id}/stops`,
        pathParameters: { instanceId, jobId: job.id },
      };
    };
    const listed = await call(readStops, onInstance(INSTANCE));
    expect(listed.statusCode).toBe(200);
    expect((listed.body.items as { stopId: string }[]).map((item) => item.stopId)).toEqual([
      stop.body.stopId,
    ]);
    const foreign = await call(readStops, onInstance('not-allowed-instance'));
    expect(foreign).toMatchObject({ statusCode: 403, body: { code: 'INSTANCE_NOT_ALLOWED' } });
  });

  it('answers a job with no stops with no items, an unknown stop 404, and a foreign nextToken 400', async () => {
    const empty = await call(readStops, history('no-stops-here'));
    expect(empty).toMatchObject({ statusCode: 200, body: { items: [] } });
    const unknown = await call(readStops, receipt('019ad7a4-5c00-7b3e-9a4f-2c1d0e9f8a7b'));
    expect(unknown).toMatchObject({ statusCode: 404, body: { code: 'STOP_NOT_FOUND' } });
    const foreign = await call(readStops, history('some-job', { nextToken: 'eyJmb28iOiJiYXIifQ' }));
    expect(foreign).toMatchObject({ statusCode: 400, body: { field: 'nextToken' } });
    const malformed = await call(readStops, receipt('not-a-stop-id'));
    expect(malformed).toMatchObject({ statusCode: 400, body: { field: 'stopId' } });
  });

  it('authenticates reads like stops: no key, 401', async () => {
    const event = receipt('019ad7a4-5c00-7b3e-9a4f-2c1d0e9f8a7b');
    event.headers = { host: 'x' };
    expect((await call(readStops, event)).statusCode).toBe(401);
  });
});
