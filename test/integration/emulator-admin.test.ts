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

describe('emulator faults for untrusted answers, over HTTP', () => {
  const running = (name: string) =>
    emulator.store.add(INSTANCE, { name, type: 'METADATA_MIGRATION', status: 'RUNNING' });
  const stop = (jobId: string, headers: Record<string, string>) =>
    fetch(`${jobsUrl()}/${jobId}/stop`, { method: 'POST', headers });
  /** Reads a body chunk by chunk, counting bytes, without holding it; stops after `limit` bytes. */
  async function countBytes(response: Response, limit = Number.POSITIVE_INFINITY) {
    const reader = response.body?.getReader();
    let bytes = 0;
    let first = '';
    let last = '';
    for (;;) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      bytes += chunk.value.length;
      if (first.length < 64) first += Buffer.from(chunk.value.subarray(0, 64)).toString('utf8');
      last = Buffer.from(chunk.value.subarray(-16)).toString('utf8');
      if (bytes >= limit) {
        await reader?.cancel();
        break;
      }
    }
    return { bytes, first, last };
  }

  it('answers wrong successes to a stop (200 HTML, 200 error JSON, 200 invalid JSON, 204) and stops nothing', async () => {
    const job = running('wrong_success');
    const headers = { 'X-Auth-Token': await token() };
    const kinds = ['200-html', '200-json-error', '200-invalid-json', '204'] as const;
    const put = await admin('PUT', '/faults', {
      script: kinds.map((fault) => ({ fault, match: { path: '/stop' } })),
    });
    const answers: { status: number; type: string | null; text: string }[] = [];
    for (const _ of kinds) {
      const response = await stop(job.id, headers);
      answers.push({
        status: response.status,
        type: response.headers.get('content-type'),
        text: await response.text(),
      });
    }

    expect(put.status).toBe(200);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 204]);
    expect(answers[0]?.type).toMatch(/^text\/html/);
    expect(answers[0]?.text).toMatch(/^<!DOCTYPE html>/);
    expect(JSON.parse(answers[1]?.text ?? '')).toEqual({
      error_code: 'common.00000500',
      error_msg: 'internal error',
    });
    expect(answers[2]?.type).toBe('application/json');
    expect(() => JSON.parse(answers[2]?.text ?? '')).toThrow();
    expect(answers[3]?.text).toBe('');
    expect(emulator.store.get(INSTANCE, job.id)?.stopsAccepted).toBe(0);
    expect(
      emulator
        .requestsWhere({ operation: 'stopJob', jobId: job.id })
        .map(({ status, fault }) => ({ status, fault })),
    ).toEqual(kinds.map((fault) => ({ status: fault === '204' ? 204 : 200, fault })));
    // the script is used up: the next stop is accepted
    expect((await stop(job.id, headers)).status).toBe(202);
  });

  it('echoes the request X-Auth-Token verbatim in error_msg (400 by default, or the status asked) and in a text body', async () => {
    const job = running('echo_job');
    const secret = await token();
    const headers = { 'X-Auth-Token': secret };
    await admin('PUT', '/faults', {
      script: [
        { fault: 'echo-token', match: { path: '/stop' } },
        { fault: 'echo-token', status: 500, match: { path: '/stop' } },
        { fault: 'echo-token-text', match: { path: job.id, method: 'GET' } },
      ],
    });
    const json400 = await stop(job.id, headers);
    const json500 = await stop(job.id, headers);
    const text = await fetch(`${jobsUrl()}/${job.id}`, { headers });

    expect([json400.status, json500.status, text.status]).toEqual([400, 500, 400]);
    for (const answer of [json400, json500]) {
      const body = (await answer.json()) as { error_code: string; error_msg: string };
      expect(body.error_code).toBe('common.01000001');
      expect(body.error_msg).toContain(`X-Auth-Token: ${secret}`);
    }
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    const raw = await text.text();
    expect(raw).toContain(secret);
    expect(() => JSON.parse(raw)).toThrow();
    expect(emulator.store.get(INSTANCE, job.id)?.stopsAccepted).toBe(0);
  });

  it('on IAM, an echo quotes the sign-in body, password included, and a wrong success issues no token', async () => {
    await admin('PUT', '/faults', {
      script: [
        { fault: 'echo-token', match: { target: 'iam' } },
        { fault: 'echo-token-text', status: 500, match: { target: 'iam' } },
        { fault: '200-html', match: { target: 'iam' } },
      ],
    });
    const issuedBefore = emulator.tokensIssued;
    const echoed = await signIn();
    const echoedText = await signIn();
    const html = await signIn();

    expect([echoed.status, echoedText.status, html.status]).toEqual([400, 500, 200]);
    expect(((await echoed.json()) as { error: { message: string } }).error.message).toContain(USER.password);
    expect(await echoedText.text()).toContain(USER.password);
    expect(html.headers.get('x-subject-token')).toBeNull();
    expect(await html.text()).toMatch(/^<!DOCTYPE html>/);
    expect(emulator.tokensIssued).toBe(issuedBefore);
  });

  it('streams a huge 202 to a stop (8 MiB by default, Content-Length, or chunked) and any status with any body', async () => {
    const job = running('huge_job');
    const headers = { 'X-Auth-Token': await token() };
    await admin('PUT', '/faults', {
      script: [
        { fault: 'huge-body', match: { path: '/stop' } },
        { fault: 'huge-body', bodyBytes: 3 * 1024 * 1024 + 7, chunked: true, match: { path: '/stop' } },
        { fault: 'huge-body', status: 500, bodyBytes: 2_000_000, match: { method: 'GET', path: job.id } },
        { fault: 'answer', status: 302, body: 'html', match: { path: '/stop' } },
        { fault: 'answer', status: 503, body: 'invalid-json', match: { path: '/stop' } },
        { fault: 'answer', status: 202, body: 'json', match: { path: '/stop' } },
        { fault: 'answer', status: 99, match: { path: '/stop' } },
      ],
    });

    const defaultSize = await stop(job.id, headers);
    expect(defaultSize.status).toBe(202);
    expect(defaultSize.headers.get('content-length')).toBe(String(8 * 1024 * 1024));
    const counted = await countBytes(defaultSize);
    expect(counted).toMatchObject({ bytes: 8 * 1024 * 1024 });
    expect(counted.first.startsWith('{"padding":"xxx')).toBe(true);
    expect(counted.last.endsWith('xxx"}')).toBe(true);

    const chunked = await stop(job.id, headers);
    expect(chunked.status).toBe(202);
    expect(chunked.headers.get('content-length')).toBeNull();
    expect(chunked.headers.get('transfer-encoding')).toBe('chunked');
    expect((await countBytes(chunked)).bytes).toBe(3 * 1024 * 1024 + 7);

    const read = await fetch(`${jobsUrl()}/${job.id}`, { headers });
    expect(read.status).toBe(500);
    expect((await countBytes(read)).bytes).toBe(2_000_000);

    const redirect = await fetch(`${jobsUrl()}/${job.id}/stop`, {
      method: 'POST',
      headers,
      redirect: 'manual',
    });
    expect(redirect.status).toBe(302);
    expect(await redirect.text()).toMatch(/^<!DOCTYPE html>/);
    const unavailable = await stop(job.id, headers);
    expect(unavailable.status).toBe(503);
    const cutOff = '{"error_code": "common.00000500", "error_msg": "inter';
    expect(await unavailable.text()).toBe(cutOff);
    const acceptedWithBody = await stop(job.id, headers);
    expect([acceptedWithBody.status, await acceptedWithBody.json()]).toEqual([202, { result: 'ok' }]);
    const badStatus = await stop(job.id, headers);
    expect(badStatus.status).toBe(500);
    expect(await badStatus.json()).toMatchObject({ error_code: 'EMULATOR' });

    expect(emulator.store.get(INSTANCE, job.id)?.stopsAccepted).toBe(0);
    expect(
      emulator
        .requestsWhere({ jobId: job.id })
        .map(({ status, fault, bodyBytes }) => ({ status, fault, bodyBytes })),
    ).toEqual([
      { status: 202, fault: 'huge-body', bodyBytes: 8 * 1024 * 1024 },
      { status: 202, fault: 'huge-body', bodyBytes: 3 * 1024 * 1024 + 7 },
      { status: 500, fault: 'huge-body', bodyBytes: 2_000_000 },
      { status: 302, fault: 'answer', bodyBytes: expect.any(Number) },
      { status: 503, fault: 'answer', bodyBytes: cutOff.length },
      { status: 202, fault: 'answer', bodyBytes: 15 },
      { status: 500, fault: 'answer', bodyBytes: undefined },
    ]);
  });

  it('streams a huge body without holding it, stops when the client goes away, and keeps serving', async () => {
    const job = running('huge_abort');
    const headers = { 'X-Auth-Token': await token() };
    await admin('PUT', '/faults', {
      // 64 GiB each: more than the emulator could hold or send in the time allowed
      script: [{ fault: 'huge-body', bodyBytes: 64 * 1024 ** 3, times: 3, match: { path: '/stop' } }],
    });
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      const response = await stop(job.id, headers);
      expect((await countBytes(response, 1024 * 1024)).bytes).toBeLessThan(4 * 1024 * 1024);
    }
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await admin('GET', '/health')).body).toMatchObject({ ok: true });
    expect((await stop(job.id, headers)).status).toBe(202);
  });

  it('on IAM, a huge-body is a real sign-in, only padded: the token in X-Subject-Token works', async () => {
    await admin('PUT', '/faults', {
      script: [{ fault: 'huge-body', bodyBytes: 2 * 1024 * 1024, match: { target: 'iam' } }],
    });
    const response = await signIn();
    expect(response.status).toBe(201);
    const issued = response.headers.get('x-subject-token') ?? '';
    const text = await response.text();
    expect(Buffer.byteLength(text)).toBe(2 * 1024 * 1024);
    expect((JSON.parse(text) as { token: { expires_at: string } }).token.expires_at).toMatch(/Z$/);
    const listed = await fetch(jobsUrl('?type=METADATA_MIGRATION&limit=1'), {
      headers: { 'X-Auth-Token': issued },
    });
    expect(listed.status).toBe(200);
  });

  it('injects the new kinds at seeded random rates too, with hugeBodyBytes, and counts them in the stats', async () => {
    const job = running('random_kinds');
    const headers = { 'X-Auth-Token': await token() };
    const before = { ...emulator.faults.injected };
    await admin('PUT', '/faults', {
      random: { seed: 7, rates: { '204': 0.5, 'huge-body': 0.5 }, hugeBodyBytes: 100_000 },
    });
    const statuses: number[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await stop(job.id, headers);
      statuses.push(response.status);
      sizes.push((await countBytes(response)).bytes);
    }
    const stats = (await admin('GET', '/stats')).body.faultsInjected as Record<string, number>;
    await admin('DELETE', '/faults');

    expect(new Set(statuses)).toEqual(new Set([202, 204]));
    expect(new Set(sizes)).toEqual(new Set([0, 100_000]));
    const huge = sizes.filter((size) => size === 100_000).length;
    expect((stats['huge-body'] ?? 0) - (before['huge-body'] ?? 0)).toBe(huge);
    expect((stats['204'] ?? 0) - (before['204'] ?? 0)).toBe(20 - huge);
    expect(emulator.store.get(INSTANCE, job.id)?.stopsAccepted).toBe(0);
  });
});
