import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { INSTANCE, PROJECT, testEmulator, USER } from '../support/emulator.js';

let emulator: LakeFormationEmulator;

beforeAll(async () => {
  emulator = await testEmulator({ stopDelayMs: 0 });
});

afterAll(async () => {
  await emulator.close();
});

async function admin(method: string, path: string, body?: unknown) {
  const response = await fetch(`${emulator.url}/_admin${path}`, {
    method,
    ...(body !== undefined && {
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' },
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** `POST /v3/auth/tokens` with the documented password body. */
function signIn(password = USER.password): Promise<Response> {
  return fetch(`${emulator.url}/v3/auth/tokens`, {
    method: 'POST',
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: USER.name, password, domain: { name: USER.domain } } },
        },
        scope: { project: { id: PROJECT } },
      },
    }),
  });
}

async function token(): Promise<string> {
  const response = await signIn();
  expect(response.status).toBe(201);
  return response.headers.get('x-subject-token') ?? '';
}

const jobsUrl = (query = '') => `${emulator.url}/v1/${PROJECT}/instances/${INSTANCE}/lf-jobs${query}`;

describe('emulator API and admin API over HTTP', () => {
  it('answers 401 APIG.1002 without a token and with an unknown one', async () => {
    for (const headers of [{}, { 'X-Auth-Token': 'forged' }] as Record<string, string>[]) {
      const response = await fetch(jobsUrl('?type=METADATA_MIGRATION'), { headers });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error_code: 'APIG.1002',
        error_msg: 'Incorrect token or token resolution failed',
      });
    }
  });

  it('issues a token with a microsecond expires_at 24 h ahead, as IAM does', async () => {
    const response = await signIn();
    const body = (await response.json()) as { token: { expires_at: string; issued_at: string } };
    expect(body.token.expires_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    const lifetime = Date.parse(body.token.expires_at) - Date.parse(body.token.issued_at);
    expect(lifetime).toBe(24 * 3600_000);
  });

  it('does not stop a job for any method but POST, nor by POST to the job itself', async () => {
    const job = emulator.store.add(INSTANCE, {
      name: 'method_job',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    const headers = { 'X-Auth-Token': await token() };
    const answers = [
      await fetch(`${jobsUrl()}/${job.id}/stop`, { method: 'GET', headers }),
      await fetch(`${jobsUrl()}/${job.id}/stop`, { method: 'PUT', headers }),
      await fetch(`${jobsUrl()}/${job.id}`, { method: 'POST', headers }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([404, 404, 404]);
    expect(await answers[0]?.json()).toMatchObject({ error_code: 'APIG.0101' });
    expect(emulator.store.get(INSTANCE, job.id)?.status).toBe('RUNNING');
  });

  it('with stopNotRunning "accept", accepts the stop of a finished job but still refuses a frozen one', async () => {
    const finished = emulator.store.add(INSTANCE, {
      name: 'finished',
      type: 'METADATA_MIGRATION',
      status: 'SUCCESS',
    });
    const frozen = emulator.store.add(INSTANCE, {
      name: 'frozen',
      type: 'METADATA_MIGRATION',
      status: 'FROZEN_RELEASABLE',
    });
    const headers = { 'X-Auth-Token': await token() };
    emulator.update({ stopNotRunning: 'accept' });
    try {
      const stop = (id: string) => fetch(`${jobsUrl()}/${id}/stop`, { method: 'POST', headers });
      expect((await stop(finished.id)).status).toBe(202);
      expect((await stop(frozen.id)).status).toBe(400);
      expect(emulator.store.get(INSTANCE, finished.id)?.status).toBe('SUCCESS');
    } finally {
      emulator.restoreSettings();
    }
  });

  it('starts a new run of a stopped job (new start_time, RUNNING, the stop forgotten) and refuses to start a running one', async () => {
    const job = emulator.store.add(INSTANCE, {
      name: 'rerun_job',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
      startTime: '2026-05-27T10:04:35.743Z',
    });
    const headers = { 'X-Auth-Token': await token() };
    const start = () => fetch(`${jobsUrl()}/${job.id}/start?mode=NORMAL`, { method: 'POST', headers });
    const read = async () =>
      (await (await fetch(`${jobsUrl()}/${job.id}`, { headers })).json()) as Record<string, unknown>;
    expect((await fetch(`${jobsUrl()}/${job.id}/stop`, { method: 'POST', headers })).status).toBe(202);
    expect(await read()).toMatchObject({ status: 'STOPPED' });
    expect(emulator.store.get(INSTANCE, job.id)?.endTime).toBeDefined(); // end_time is in list answers only

    const started = await start();
    expect(started.status).toBe(202);
    expect(await started.text()).toBe('');
    const afterStart = await read();
    expect(afterStart.status).toBe('RUNNING');
    expect(Date.parse(String(afterStart.start_time))).toBeGreaterThan(Date.parse('2026-05-27T10:04:35.743Z'));
    expect(emulator.store.get(INSTANCE, job.id)?.endTime).toBeUndefined();

    expect((await start()).status).toBe(400);
    expect(await read()).toEqual(afterStart);
    expect(
      emulator.requestsWhere({ operation: 'startJob', jobId: job.id }).map((entry) => entry.status),
    ).toEqual([202, 400]);
  });

  it('refuses wrong IAM credentials with 401', async () => {
    const response = await signIn('wrong');
    expect(response.status).toBe(401);
  });

  it('enforces the list limits: type required, offset 0..1000, limit 1..1000', async () => {
    const headers = { 'X-Auth-Token': await token() };
    const statuses = await Promise.all(
      [
        '',
        '?type=ALL',
        '?type=METADATA_MIGRATION&offset=1001',
        '?type=METADATA_MIGRATION&limit=0',
        '?type=METADATA_MIGRATION&limit=1001',
        '?type=METADATA_MIGRATION&offset=1000&limit=1000',
      ].map(async (query) => (await fetch(jobsUrl(query), { headers })).status),
    );
    expect(statuses).toEqual([400, 400, 400, 400, 400, 200]);
  });

  it('seeds jobs, injects faults, expires tokens and logs requests through the admin API', async () => {
    const seeded = await admin('POST', '/jobs', {
      instanceId: INSTANCE,
      jobs: [{ name: 'admin_seeded', type: 'METADATA_DISCOVERY', status: 'RUNNING', startedMinutesAgo: 90 }],
    });
    const jobId = (seeded.body.jobs as { id: string }[])[0]?.id;
    const headers = { 'X-Auth-Token': await token() };

    await admin('PUT', '/faults', { script: [{ fault: '429', match: { path: '/stop' } }] });
    const throttled = await fetch(`${jobsUrl()}/${jobId}/stop`, { method: 'POST', headers });
    const accepted = await fetch(`${jobsUrl()}/${jobId}/stop`, { method: 'POST', headers });
    await admin('POST', '/tokens/expire');
    const expired = await fetch(`${jobsUrl()}/${jobId}`, { headers });
    const log = await admin('GET', '/requests');

    expect(seeded.status).toBe(201);
    expect(throttled.status).toBe(429);
    expect(await throttled.json()).toMatchObject({ error_code: 'APIG.0308' });
    expect(accepted.status).toBe(202);
    expect(expired.status).toBe(401);
    expect((log.body.requests as { operation: string; status: number }[]).slice(-3)).toMatchObject([
      { operation: 'stopJob', status: 429, fault: '429' },
      { operation: 'stopJob', status: 202 },
      { operation: 'getJob', status: 401 },
    ]);
  });

  it('switches the status shape through the settings', async () => {
    const job = emulator.store.add(INSTANCE, {
      name: 'shape_job',
      type: 'METADATA_MIGRATION',
      status: 'SUCCESS',
    });
    const headers = { 'X-Auth-Token': await token() };
    await admin('PATCH', '/settings', { statusShape: 'object' });
    const objectShape = await (await fetch(`${jobsUrl()}/${job.id}`, { headers })).json();
    await admin('PATCH', '/settings', { statusShape: 'string' });
    const stringShape = await (await fetch(`${jobsUrl()}/${job.id}`, { headers })).json();

    expect(objectShape).toMatchObject({ status: { status: 'SUCCESS' } });
    expect(stringShape).toMatchObject({ status: 'SUCCESS' });
  });

  it('restores the settings it was created with, nested ones included', async () => {
    const created = structuredClone(emulator.settings);
    emulator.update({ statusShape: 'object', latencyMs: 5 });
    emulator.settings.missingJob.status = 400; // mutated in place, as a careless test might

    emulator.restoreSettings();

    expect(emulator.settings).toEqual(created);
    const headers = { 'X-Auth-Token': await token() };
    expect((await fetch(`${jobsUrl()}/no-such-job`, { headers })).status).toBe(404);
  });
});
