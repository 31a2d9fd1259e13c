import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import { stopWithOutcome } from '../../lib/domain/stop.js';
import { credentialsLoader } from '../../lib/upstream/huawei/credentials.js';
import { createTokenProvider } from '../../lib/upstream/huawei/token-provider.js';
import {
  createLakeFormationClient,
  type LakeFormationClient,
} from '../../lib/upstream/lakeformation/client.js';
import { LakeFormationHttpError } from '../../lib/upstream/lakeformation/errors.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { INSTANCE, OTHER_INSTANCE, PROJECT, testEmulator, USER } from '../support/emulator.js';

let emulator: LakeFormationEmulator;
let client: LakeFormationClient;

function newClient(
  projectId = PROJECT,
  options: { timeoutMs?: number; endpoint?: string } = {},
): LakeFormationClient {
  const tokens = createTokenProvider({
    iamEndpoint: emulator.url,
    projectId,
    credentials: credentialsLoader({
      kind: 'env',
      userName: USER.name,
      password: USER.password,
      domainName: USER.domain,
    }),
  });
  return createLakeFormationClient({
    endpoint: emulator.url,
    projectId,
    tokens,
    retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 4 },
    ...options,
  });
}

beforeAll(async () => {
  emulator = await testEmulator();
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(() => {
  resetContainer();
  emulator.store.clear();
  emulator.faults.clear();
  emulator.requests.length = 0;
  emulator.tokensIssued = 0;
  emulator.restoreSettings();
  client = newClient();
});

afterEach(() => emulator.faults.clear());

describe('LakeFormation client against the emulator', () => {
  it('stops a running job, which then reads STOPPED', async () => {
    const job = emulator.store.add(INSTANCE, {
      name: 'nightly_a',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });

    await client.stopJob({ instanceId: INSTANCE, jobId: job.id });
    await new Promise((resolve) => setTimeout(resolve, 80));

    expect((await client.getJob({ instanceId: INSTANCE, jobId: job.id })).status).toBe('STOPPED');
    expect(emulator.tokensIssued).toBe(1);
  });

  it.each(['string', 'object'] as const)('reads status serialised as a %s', async (statusShape) => {
    emulator.update({ statusShape, timestampPrecision: statusShape === 'object' ? 'micros' : 'millis' });
    const job = emulator.store.add(INSTANCE, {
      name: 'job_x',
      type: 'METADATA_DISCOVERY',
      status: 'RUNNING',
      startTime: '2026-11-28T10:00:00.123Z',
    });

    const read = await client.getJob({ instanceId: INSTANCE, jobId: job.id });

    expect(read).toMatchObject({ status: 'RUNNING', startTime: Date.UTC(2026, 10, 28, 10, 0, 0, 123) });
  });

  it('lists with type, status and name filters and pages with offset/limit', async () => {
    for (let i = 0; i < 25; i++) {
      emulator.store.add(INSTANCE, {
        name: `nightly_${i}`,
        type: 'METADATA_MIGRATION',
        status: i % 5 ? 'RUNNING' : 'SUCCESS',
      });
    }
    emulator.store.add(INSTANCE, {
      name: 'nightly_other_type',
      type: 'PERMISSION_MIGRATION',
      status: 'RUNNING',
    });

    const pages = [];
    for (let offset = 0; offset < 30; offset += 10) {
      pages.push(
        await client.listJobs({
          instanceId: INSTANCE,
          type: 'METADATA_MIGRATION',
          status: 'RUNNING',
          offset,
          limit: 10,
        }),
      );
    }
    const named = await client.listJobs({
      instanceId: INSTANCE,
      type: 'METADATA_MIGRATION',
      namePattern: 'nightly_1*',
    });

    expect(pages.map((p) => p.jobs.length)).toEqual([10, 10, 0]);
    expect(pages[0]?.total).toBe(20);
    expect(new Set(pages.flatMap((p) => p.jobs.map((j) => j.id))).size).toBe(20);
    expect(named.jobs.map((j) => j.name).sort()).toEqual(
      [
        'nightly_1',
        'nightly_10',
        'nightly_11',
        'nightly_12',
        'nightly_13',
        'nightly_14',
        'nightly_15',
        'nightly_16',
        'nightly_17',
        'nightly_18',
        'nightly_19',
      ].sort(),
    );
  });

  it('gets the documented 404 for a job that does not exist', async () => {
    const error = await client
      .getJob({ instanceId: INSTANCE, jobId: 'no-such-job' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LakeFormationHttpError);
    expect(error).toMatchObject({ status: 404, errorCode: 'common.01000001' });
    expect((error as LakeFormationHttpError).requestId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('gets the nested 403 for a token scoped to another project', async () => {
    const other = newClient('ffffffffffffffffffffffffffffffff');
    // the token is for the other project; ask for ours with it
    const token = await createTokenProvider({
      iamEndpoint: emulator.url,
      projectId: 'ffffffffffffffffffffffffffffffff',
      credentials: credentialsLoader({
        kind: 'env',
        userName: USER.name,
        password: USER.password,
        domainName: USER.domain,
      }),
    }).getToken();
    const crossed = createLakeFormationClient({
      endpoint: emulator.url,
      projectId: PROJECT,
      tokens: { getToken: async () => token, invalidate: () => {} },
    });
    await expect(other.listJobs({ instanceId: INSTANCE, type: 'METADATA_MIGRATION' })).rejects.toMatchObject({
      status: 404,
    });
    await expect(crossed.getJob({ instanceId: INSTANCE, jobId: 'x' })).rejects.toMatchObject({
      status: 403,
      errorCode: '403',
      errorMsg: 'X-Auth-Token is invalid in the request',
    });
  });

  it.each([
    [
      '401 APIG.1002, as the API pages show',
      { status: 401, error_code: 'APIG.1002', error_msg: 'Incorrect token' },
    ],
    [
      '400 00000015, as the error table lists',
      { status: 400, error_code: 'lakeformation.00000015', error_msg: 'x' },
    ],
  ])('survives token expiry answered %s: one new token, the call succeeds', async (_name, tokenRefusal) => {
    emulator.update({ tokenRefusal });
    const job = emulator.store.add(INSTANCE, {
      name: 'job_exp',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    await client.getJob({ instanceId: INSTANCE, jobId: job.id });

    emulator.expireTokens();
    await client.stopJob({ instanceId: INSTANCE, jobId: job.id });

    expect(emulator.tokensIssued).toBe(2);
    expect(emulator.requestsWhere({ operation: 'stopJob' }).map((r) => r.status)).toEqual([
      tokenRefusal.status,
      202,
    ]);
  });

  it('retries through injected 408, 429, 500 and connection resets', async () => {
    const job = emulator.store.add(INSTANCE, {
      name: 'job_faults',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    emulator.faults.configure({
      script: [{ fault: '408' }, { fault: '429' }, { fault: 'reset' }].map((f) => ({
        ...f,
        match: { path: '/stop' },
      })) as never,
    });

    await client.stopJob({ instanceId: INSTANCE, jobId: job.id });

    expect(emulator.requestsWhere({ operation: 'stopJob' }).map((r) => r.fault ?? r.status)).toEqual([
      '408',
      '429',
      'reset',
      202,
    ]);
  });

  it('gives up with the last error when faults persist', async () => {
    emulator.faults.configure({ script: [{ fault: '500', times: 10 }] });
    await expect(client.listJobs({ instanceId: INSTANCE, type: 'METADATA_MIGRATION' })).rejects.toMatchObject(
      {
        status: 500,
        errorCode: 'common.00000500',
      },
    );
    expect(emulator.requestsWhere({ operation: 'listJobs' })).toHaveLength(4);
  });

  it('times out a hanging emulator and retries', async () => {
    const fast = newClient(PROJECT, { timeoutMs: 100 });
    emulator.faults.configure({ script: [{ fault: 'hang', match: { method: 'GET' } }] });
    const job = emulator.store.add(INSTANCE, {
      name: 'job_hang',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });

    expect((await fast.getJob({ instanceId: INSTANCE, jobId: job.id })).status).toBe('RUNNING');
    expect(emulator.requestsWhere({ operation: 'getJob' })).toHaveLength(2);
  });

  it('injects seeded random faults reproducibly', async () => {
    const job = emulator.store.add(INSTANCE, {
      name: 'job_rand',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    const run = async () => {
      emulator.requests.length = 0;
      emulator.faults.configure({ random: { seed: 1, rates: { '500': 0.2, '429': 0.1 } } });
      for (let i = 0; i < 20; i++) await client.getJob({ instanceId: INSTANCE, jobId: job.id });
      return emulator
        .requestsWhere({ operation: 'getJob' })
        .map((r) => r.fault ?? '-')
        .join(',');
    };
    const first = await run();
    expect(first).toMatch(/500|429/);
    expect(await run()).toBe(first);
  });

  it('classifies outcomes through the real API: running, finished, frozen, missing, other instance', async () => {
    const running = emulator.store.add(INSTANCE, {
      name: 'r',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    const done = emulator.store.add(INSTANCE, { name: 'd', type: 'METADATA_MIGRATION', status: 'SUCCESS' });
    const frozen = emulator.store.add(INSTANCE, {
      name: 'f',
      type: 'METADATA_MIGRATION',
      status: 'FROZEN_RELEASABLE',
    });
    const elsewhere = emulator.store.add(OTHER_INSTANCE, {
      name: 'o',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });

    const outcomes = await Promise.all([
      stopWithOutcome(client, { instanceId: INSTANCE, jobId: running.id }),
      stopWithOutcome(client, { instanceId: INSTANCE, jobId: done.id }),
      stopWithOutcome(client, { instanceId: INSTANCE, jobId: frozen.id }),
      stopWithOutcome(client, { instanceId: INSTANCE, jobId: 'missing-job' }),
      stopWithOutcome(client, { instanceId: OTHER_INSTANCE, jobId: elsewhere.id }),
    ]);

    expect(outcomes.map((o) => [o.outcome, o.status])).toEqual([
      ['STOP_REQUESTED', undefined],
      ['NOT_RUNNING', 'SUCCESS'],
      ['NOT_STOPPABLE', 'FROZEN_RELEASABLE'],
      ['NOT_FOUND', undefined],
      ['STOP_REQUESTED', undefined],
    ]);
    expect(emulator.tokensIssued).toBe(1);
  });

  it('reports NOT_FOUND for a missing job in either documented answer, 404 or 400 "resource not found"', async () => {
    for (const missingJob of [
      { status: 404, error_code: 'common.01000001', error_msg: 'response status exception, code: 404' },
      { status: 400, error_code: '00000005', error_msg: 'The resource was not found.' },
      { status: 400, error_code: 'lakeformation.00000005', error_msg: 'The resource was not found.' },
    ]) {
      emulator.update({ missingJob });
      expect(await stopWithOutcome(client, { instanceId: INSTANCE, jobId: 'no-such-job' })).toEqual({
        instanceId: INSTANCE,
        jobId: 'no-such-job',
        outcome: 'NOT_FOUND',
      });
    }
  });

  it('never reports NOT_FOUND when the endpoint is wrong and the gateway answers "no such API"', async () => {
    const job = emulator.store.add(INSTANCE, { name: 'r', type: 'METADATA_MIGRATION', status: 'RUNNING' });
    const misrouted = newClient(PROJECT, { endpoint: `${emulator.url}/wrong-prefix` });
    await expect(stopWithOutcome(misrouted, { instanceId: INSTANCE, jobId: job.id })).rejects.toMatchObject({
      status: 404,
      errorCode: 'APIG.0101',
    });
    expect(emulator.store.get(INSTANCE, job.id)?.status).toBe('RUNNING');
  });

  it('gives the same outcomes whichever answer the emulator picks for stopping a finished job', async () => {
    const done = emulator.store.add(INSTANCE, { name: 'd', type: 'METADATA_MIGRATION', status: 'FAILED' });
    for (const refusal of [
      { status: 400, error_code: 'common.01000001', error_msg: 'x' },
      { status: 409, error_code: 'lakeformation.00000020', error_msg: 'y' },
    ]) {
      emulator.update({ refusal });
      expect(await stopWithOutcome(client, { instanceId: INSTANCE, jobId: done.id })).toMatchObject({
        outcome: 'NOT_RUNNING',
        status: 'FAILED',
      });
    }
  });
});
