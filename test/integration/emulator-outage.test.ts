import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { INSTANCE, PROJECT, testEmulator, USER } from '../support/emulator.js';

let emulator: LakeFormationEmulator;
let token: string;
/** The emulator's clock, moved by hand. */
let now = Date.UTC(2026, 11, 1, 12, 0, 0);

beforeAll(async () => {
  emulator = await testEmulator({
    stopDelayMs: 1_000,
    now: () => now,
    jobs: [
      { id: 'never-stops', name: 'stuck', type: 'METADATA_MIGRATION', status: 'RUNNING', neverStops: true },
      { id: 'slow-stop', name: 'slow', type: 'METADATA_MIGRATION', status: 'RUNNING', stopDelayMs: 60_000 },
      { id: 'ordinary', name: 'ordinary', type: 'METADATA_MIGRATION', status: 'RUNNING' },
    ],
  });
  const signIn = await fetch(`${emulator.url}/v3/auth/tokens`, {
    method: 'POST',
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: USER.name, password: USER.password, domain: { name: USER.domain } } },
        },
        scope: { project: { id: PROJECT } },
      },
    }),
  });
  token = signIn.headers.get('x-subject-token') ?? '';
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(() => {
  emulator.restoreSettings();
});

const job = (id: string) => `${emulator.url}/v1/${PROJECT}/instances/${INSTANCE}/lf-jobs/${id}`;
const read = async (id: string) =>
  ((await (await fetch(job(id), { headers: { 'X-Auth-Token': token } })).json()) as { status: string })
    .status;
const stop = (id: string) => fetch(`${job(id)}/stop`, { method: 'POST', headers: { 'X-Auth-Token': token } });

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

describe('Emulator: outage switch', () => {
  it('fails every LakeFormation call with 503 until switched back, and leaves IAM up', async () => {
    await admin('PUT', '/outage', {});
    const answers = [(await stop('ordinary')).status, (await fetch(job('ordinary'))).status];
    const iam = await fetch(`${emulator.url}/v3/auth/tokens`, { method: 'POST', body: '{}' });
    await admin('DELETE', '/outage');
    expect(answers).toEqual([503, 503]);
    expect(iam.status).toBe(400); // IAM answered: an invalid body, not the outage
    expect(await read('ordinary')).toBe('RUNNING'); // the refused stop changed nothing
  });

  it('can answer 500, reset connections, and take IAM down too', async () => {
    await admin('PUT', '/outage', { status: 500, iam: true });
    expect((await fetch(`${emulator.url}/v3/auth/tokens`, { method: 'POST', body: '{}' })).status).toBe(500);
    await admin('PUT', '/outage', { reset: true });
    await expect(fetch(job('ordinary'), { headers: { 'X-Auth-Token': token } })).rejects.toThrow();
    await admin('DELETE', '/outage');
    expect((await fetch(job('ordinary'), { headers: { 'X-Auth-Token': token } })).status).toBe(200);
  });
});

describe('Emulator: rate limit', () => {
  it('answers 429 APIG.0308 past the bucket, and refills at the rate', async () => {
    // Prepare: 5 calls per second, bursts of 5; the clock stands still
    await admin('PUT', '/rate-limit', { perSecond: 5 });
    // Act
    const first = await Promise.all(Array.from({ length: 7 }, () => stop('ordinary')));
    now += 400; // two tokens back
    const second = await Promise.all(Array.from({ length: 3 }, () => stop('ordinary')));
    const body = (await first[6]?.json()) as { error_code: string; error_msg: string };
    await admin('DELETE', '/rate-limit');
    // Assess
    expect(first.map((r) => r.status).sort()).toEqual([202, 202, 202, 202, 202, 429, 429]);
    expect(second.map((r) => r.status).sort()).toEqual([202, 202, 429]);
    expect(body.error_code).toBe('APIG.0308');
    expect(body.error_msg).toContain('limit:5,time:1 second');
    expect(first[6]?.headers.get('retry-after')).toBeNull();
  });

  it('sends Retry-After only when told to, and counts what it refused', async () => {
    const before = (await admin('GET', '/stats')).body.rateLimited as number;
    await admin('PUT', '/rate-limit', { perSecond: 1, burst: 1, retryAfterSeconds: 2 });
    await stop('ordinary');
    const refused = await stop('ordinary');
    expect(refused.headers.get('retry-after')).toBe('2');
    expect((await admin('GET', '/stats')).body.rateLimited).toBe(before + 1);
    expect((await admin('PUT', '/rate-limit', { perSecond: 0 })).status).toBe(400);
  });
});

describe('Emulator: jobs whose stop takes long or never takes effect', () => {
  it('keeps a neverStops job RUNNING after accepting its stop', async () => {
    expect((await stop('never-stops')).status).toBe(202);
    now += 3_600_000;
    expect(await read('never-stops')).toBe('RUNNING');
  });

  it('stops a job with its own stopDelayMs only after that delay', async () => {
    expect((await stop('slow-stop')).status).toBe(202);
    now += 30_000;
    expect(await read('slow-stop')).toBe('RUNNING');
    now += 30_000;
    expect(await read('slow-stop')).toBe('STOPPED');
  });
});
