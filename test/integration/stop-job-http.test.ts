import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { createFunctionSecrets, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, OTHER_INSTANCE, PROJECT, testEmulator } from '../support/emulator.js';
import { forJob, httpEvent, parse, signed, withBearer } from '../support/http.js';
import { lambdaContext } from '../support/lambda.js';
import { registerSecret } from '../support/logs.js';

const GHOST_INSTANCE = '0e0e0e0e-0000-4000-8000-000000000000';
const HMAC_KEY = 'integration-hmac-key';
const BEARER = 'integration-bearer-token';
registerSecret(HMAC_KEY, BEARER);

let emulator: LakeFormationEmulator;
let handler: (event: StopJobEvent, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

beforeAll(async () => {
  useMoto();
  emulator = await testEmulator({ stopDelayMs: 30 });
  const { credentialsSecret, webhookSecret } = await createFunctionSecrets('http', {
    hmacKeys: [HMAC_KEY],
    bearerTokens: [BEARER],
  });
  const env = emulatorEnv(emulator);
  for (const [key, value] of Object.entries(env)) {
    if (
      !key.startsWith('HUAWEICLOUD_USER') &&
      !key.startsWith('HUAWEICLOUD_PASSWORD') &&
      !key.startsWith('HUAWEICLOUD_DOMAIN')
    ) {
      vi.stubEnv(key, value);
    }
  }
  // allowed here, but an instance the emulator does not have: a wrong instance id in the configuration
  vi.stubEnv('LAKEFORMATION_ALLOWED_INSTANCE_IDS', `${OTHER_INSTANCE},${GHOST_INSTANCE}`);
  vi.stubEnv('HUAWEICLOUD_CREDENTIALS_SECRET_ID', credentialsSecret);
  vi.stubEnv('WEBHOOK_SECRET_ID', webhookSecret);
  ({ handler } = (await import('../../functions/stop-job.js')) as unknown as { handler: typeof handler });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

beforeEach(() => {
  emulator.faults.clear();
  emulator.requests.length = 0;
  emulator.tokensIssued = 0;
  resetContainer();
});

function runningJob(instanceId = INSTANCE) {
  return emulator.store.add(instanceId, {
    name: 'webhook_target',
    type: 'METADATA_MIGRATION',
    status: 'RUNNING',
    startedMinutesAgo: 30,
  });
}

async function invoke(event: StopJobEvent, remainingMs = 20_000) {
  return parse(await handler(event, lambdaContext(remainingMs)));
}

describe('stop-job handler against the emulator and Secrets Manager on moto', () => {
  it('stops a running job for a signed request; the job turns STOPPED', async () => {
    const job = runningJob();

    const response = await invoke(
      signed(forJob(httpEvent('http-stop-job-signed'), job.id, INSTANCE), HMAC_KEY),
    );
    await new Promise((resolve) => setTimeout(resolve, 60));

    expect(response.statusCode).toBe(202);
    expect(response.body).toEqual({
      jobId: job.id,
      instanceId: INSTANCE,
      outcome: 'STOP_REQUESTED',
      stopId: expect.any(String),
    });
    expect(response.headers.Location).toBe(`/stops/${response.body.stopId}`);
    expect(emulator.store.get(INSTANCE, job.id)?.status).toBe('STOPPED');
  });

  it('stops a job on another allowed instance with a bearer token', async () => {
    const job = runningJob(OTHER_INSTANCE);
    const response = await invoke(
      withBearer(forJob(httpEvent('http-stop-job-bearer'), job.id, OTHER_INSTANCE), BEARER),
    );
    expect(response.statusCode).toBe(202);
    expect(job.stopsAccepted).toBe(1);
  });

  it('reports NOT_RUNNING, NOT_FOUND and NOT_STOPPABLE from the real API', async () => {
    const done = emulator.store.add(INSTANCE, {
      name: 'done_job',
      type: 'METADATA_MIGRATION',
      status: 'STOPPED',
    });
    const frozen = emulator.store.add(INSTANCE, {
      name: 'frozen_job',
      type: 'METADATA_DISCOVERY',
      status: 'FROZEN_RELEASABLE',
    });
    const event = (jobId: string) => withBearer(forJob(httpEvent('http-stop-job-bearer'), jobId), BEARER);

    const [notRunning, notFound, notStoppable] = [
      await invoke(event(done.id)),
      await invoke(event('3f1e5d7c-0000-4000-8000-000000000000')),
      await invoke(event(frozen.id)),
    ];

    expect([notRunning.statusCode, notRunning.body.outcome, notRunning.body.status]).toEqual([
      200,
      'NOT_RUNNING',
      'STOPPED',
    ]);
    expect([notFound.statusCode, notFound.body.code]).toEqual([404, 'JOB_NOT_FOUND']);
    // before its first NOT_FOUND the function made sure the instance exists
    expect(emulator.requestsWhere({ operation: 'listJobs' }).map((r) => r.status)).toEqual([200]);
    expect([notStoppable.statusCode, notStoppable.body.code, notStoppable.body.jobStatus]).toEqual([
      409,
      'JOB_NOT_STOPPABLE',
      'FROZEN_RELEASABLE',
    ]);
  });

  it('answers 502, never 404, for a job of an instance LakeFormation does not have', async () => {
    const response = await invoke(
      withBearer(
        forJob(httpEvent('http-stop-job-bearer'), '3f1e5d7c-0000-4000-8000-000000000000', GHOST_INSTANCE),
        BEARER,
      ),
    );

    expect([response.statusCode, response.body.code]).toEqual([502, 'UPSTREAM_ERROR']);
    expect(response.body.upstream).toMatchObject({ status: 404, error_code: 'common.01000001' });
  });

  it('makes one IAM call for five warm invocations', async () => {
    for (let i = 0; i < 5; i++) {
      const job = runningJob();
      expect(
        (await invoke(withBearer(forJob(httpEvent('http-stop-job-bearer'), job.id), BEARER))).statusCode,
      ).toBe(202);
    }
    expect(emulator.tokensIssued).toBe(1);
    expect(emulator.requestsWhere({ operation: 'issueToken' })).toHaveLength(1);
  });

  it('renews an expired token once and still stops the job', async () => {
    const first = runningJob();
    await invoke(withBearer(forJob(httpEvent('http-stop-job-bearer'), first.id), BEARER));
    emulator.expireTokens();
    const second = runningJob();

    const response = await invoke(withBearer(forJob(httpEvent('http-stop-job-bearer'), second.id), BEARER));

    expect(response.statusCode).toBe(202);
    expect(emulator.tokensIssued).toBe(2);
  });

  it('rides out injected transient faults', async () => {
    const job = runningJob();
    emulator.faults.configure({ script: [{ fault: '500' }, { fault: 'reset' }, { fault: '429' }] });

    const response = await invoke(withBearer(forJob(httpEvent('http-stop-job-bearer'), job.id), BEARER));

    expect(response.statusCode).toBe(202);
    expect(emulator.requestsWhere({ operation: 'stopJob' }).map((r) => r.fault ?? r.status)).toEqual([
      '500',
      'reset',
      '429',
      202,
    ]);
  });

  it('answers 429 THROTTLED when throttling persists', async () => {
    const job = runningJob();
    emulator.faults.configure({ script: [{ fault: '429', times: 10 }] });
    const response = await invoke(withBearer(forJob(httpEvent('http-stop-job-bearer'), job.id), BEARER));
    expect(response.statusCode).toBe(429);
    expect(response.headers['Retry-After']).toMatch(/^\d+$/);
  });

  it('answers 504 within the Lambda timeout when the emulator hangs', async () => {
    const job = runningJob();
    emulator.faults.configure({ script: [{ fault: 'hang', times: 10 }] });
    const started = Date.now();

    const response = await invoke(
      withBearer(forJob(httpEvent('http-stop-job-bearer'), job.id), BEARER),
      3_000,
    );

    expect(response.statusCode).toBe(504);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('rejects an unsigned request without touching IAM or LakeFormation', async () => {
    const job = runningJob();
    const response = await invoke(forJob(httpEvent('http-stop-job-unsigned'), job.id));
    expect(response.statusCode).toBe(401);
    expect(emulator.requests).toHaveLength(0);
    expect(job.stopsAccepted).toBe(0);
  });

  it('uses the project from configuration in the LakeFormation path', async () => {
    const job = runningJob();
    await invoke(withBearer(forJob(httpEvent('http-stop-job-bearer'), job.id), BEARER));
    expect(emulator.requestsWhere({ operation: 'stopJob' })[0]?.path).toBe(
      `/v1/${PROJECT}/instances/${INSTANCE}/lf-jobs/${job.id}/stop`,
    );
  });
});
