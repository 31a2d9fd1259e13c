import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signLink, snoozeUrl } from '../../lib/domain/snooze/links.js';
import { type PeopleEvent, type Stack, startStack } from '../../local/stack.js';
import { lambdaContext } from '../support/lambda.js';
import { captureLogs, registerSecret } from '../support/logs.js';

/**
 * functions/snooze-job.ts over real HTTP (the local stack's API Gateway adapter), against the
 * emulator, with the ledger, the secrets and the event bus on moto.
 */

let stack: Stack;
const events: PeopleEvent[] = [];
let jobs: Record<string, string>;
let bearer: string;
let linkKey: string;
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';

beforeAll(async () => {
  stack = await startStack({
    httpPort: 0,
    emulatorPort: 0,
    scheduleMs: 0,
    onPeopleEvent: (e) => events.push(e),
  });
  jobs = Object.fromEntries(stack.emulator.store.all().map((job) => [job.name, job.id]));
  bearer = stack.config.webhook.bearerTokens[0] ?? '';
  linkKey = stack.config.webhook.linkKeys[0] ?? '';
  registerSecret(bearer, linkKey);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.httpUrl}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', ...init.headers },
  });
const snooze = (jobId: string, body: unknown) =>
  api(`/jobs/${jobId}/snooze`, { method: 'POST', body: JSON.stringify(body) });

async function runStart(jobId: string): Promise<number> {
  const job = stack.emulator.store.all().find((j) => j.id === jobId);
  return Number(job?.startTime);
}

function link(
  jobId: string,
  runStartedAt: number,
  extra: { minutes?: number; expiresAt?: number; key?: string } = {},
) {
  const token = signLink(
    {
      jobId,
      instanceId: INSTANCE,
      runStartedAt,
      minutes: extra.minutes ?? 60,
      expiresAt: extra.expiresAt ?? Date.now() + 3600_000,
    },
    extra.key ?? linkKey,
  );
  return { token, url: snoozeUrl(stack.httpUrl, token) };
}

const press = (token: string) =>
  fetch(`${stack.httpUrl}/snooze`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ t: token }).toString(),
  });
const heading = (html: string) => html.match(/<h1>([^<]*)<\/h1>/)?.[1];

describe('POST /jobs/{jobId}/snooze and GET /jobs/{jobId}/snoozes', () => {
  it('snoozes a running job, counts the snoozes per run, and publishes Stop Snoozed', async () => {
    const jobId = jobs.adhoc_table_discovery as string;
    const before = Date.now();
    const first = await snooze(jobId, { minutes: 30, reason: 'backfill' });
    expect(first.status).toBe(200);
    const body = (await first.json()) as Record<string, string | number>;
    expect(body).toMatchObject({ jobId, instanceId: INSTANCE, snoozesLeft: 2 });
    expect(Date.parse(String(body.snoozedUntil))).toBeGreaterThanOrEqual(before + 30 * 60_000);
    // the run, named to the second (docs/ledger.md)
    expect(body.runStartedAt).toBe(new Date(Math.floor((await runStart(jobId)) / 1000) * 1000).toISOString());

    for (const left of [1, 0]) {
      expect(await (await snooze(jobId, { minutes: 10 })).json()).toMatchObject({ snoozesLeft: left });
    }
    const refused = await snooze(jobId, { minutes: 10 });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'SNOOZE_LIMIT', jobId });

    const listed = await api(`/jobs/${jobId}/snoozes`);
    const { items } = (await listed.json()) as { items: Record<string, unknown>[] };
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ jobId, snoozes: 3, snoozesLeft: 0 });
    expect(items[0]?.snoozeLog).toContainEqual({
      at: expect.any(String),
      minutes: 30,
      until: body.snoozedUntil,
      source: 'api',
      caller: 'bearer:0',
      reason: 'backfill',
    });
    await expect
      .poll(
        () => events.filter((e) => e['detail-type'] === 'Stop Snoozed' && e.detail.jobId === jobId).length,
      )
      .toBe(3);
  });

  it('refuses a job that is not running, a run that has ended, and minutes past maxSnoozeMinutes', async () => {
    const finished = await snooze(jobs.weekly_catalog_migration as string, { minutes: 10 });
    expect(finished.status).toBe(409);
    expect(await finished.json()).toMatchObject({
      code: 'JOB_NOT_RUNNING',
      detail: expect.stringContaining('SUCCESS'),
    });

    const jobId = jobs.obs_lake_discovery as string;
    const ended = await snooze(jobId, { minutes: 10, runStartedAt: '2020-01-01T00:00:00Z' });
    expect(ended.status).toBe(409);
    expect(await ended.json()).toMatchObject({
      code: 'JOB_NOT_RUNNING',
      detail: expect.stringContaining('has ended'),
    });

    const long = await snooze(jobId, { minutes: 121 });
    expect(long.status).toBe(400);
    expect(await long.json()).toMatchObject({
      code: 'INVALID_REQUEST',
      detail: expect.stringContaining('1 to 120'),
    });
    const none = await snooze(jobId, {});
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ detail: 'minutes is required' });

    const missing = await snooze('0f0f0f0f-0000-4000-8000-000000000000', { minutes: 10 });
    expect(missing.status).toBe(404);
  });

  it('wants the caller keys', async () => {
    const anonymous = await fetch(`${stack.httpUrl}/jobs/${jobs.obs_lake_discovery}/snooze`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"minutes":10}',
    });
    expect(anonymous.status).toBe(401);
    expect((await fetch(`${stack.httpUrl}/jobs/${jobs.obs_lake_discovery}/snoozes`)).status).toBe(401);
  });
});

describe('GET and POST /snooze: the signed link', () => {
  it('shows the offer without changing anything, snoozes once on POST, then says it was used', async () => {
    const jobId = jobs.nightly_customers_migration as string;
    const { token, url } = link(jobId, await runStart(jobId));
    for (let i = 0; i < 2; i++) {
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(heading(await page.text())).toBe('Snooze the stop of this job?');
    }
    const listed = async () =>
      ((await (await api(`/jobs/${jobId}/snoozes`)).json()) as { items: { snoozes: number }[] }).items;
    expect(await listed()).toEqual([]);

    const logs = captureLogs();
    const done = await press(token);
    expect(done.status).toBe(200);
    expect(heading(await done.text())).toBe('Snoozed');
    expect(await listed()).toEqual([expect.objectContaining({ snoozes: 1 })]);
    // the link is a credential: never logged, not even in part
    const logged = JSON.stringify(logs.lines);
    expect(logs.lines.some((line) => line.message === 'stop snoozed')).toBe(true);
    for (const part of [token, ...token.split('.')]) expect(logged).not.toContain(part);

    const again = await press(token);
    expect(again.status).toBe(409);
    expect(heading(await again.text())).toBe('This link has been used already');
    expect((await fetch(url)).status).toBe(409);
    expect(await listed()).toEqual([expect.objectContaining({ snoozes: 1 })]);
  });

  it.each([
    ['expired', { expiresAt: Date.now() - 1000 }, 410, 'This link has expired'],
    [
      'signed with an unknown key',
      { key: 'x'.repeat(40) },
      403,
      'This link was signed with a key this service no longer has',
    ],
  ])('refuses a link that is %s with a page saying so', async (_name, extra, status, title) => {
    const jobId = jobs.obs_lake_discovery as string;
    const { token, url } = link(jobId, await runStart(jobId), extra);
    for (const response of [await fetch(url), await press(token)]) {
      expect(response.status).toBe(status);
      expect(heading(await response.text())).toBe(title);
    }
  });

  it('refuses a tampered or malformed link, and a link whose run has ended', async () => {
    const jobId = jobs.obs_lake_discovery as string;
    const { token } = link(jobId, await runStart(jobId));
    const [payload, kid, mac] = token.split('.');
    const tampered = await fetch(`${stack.httpUrl}/snooze?t=${payload}x.${kid}.${mac}`);
    expect(tampered.status).toBe(400);
    expect(heading(await tampered.text())).toBe('This link has been altered');
    const malformed = await fetch(`${stack.httpUrl}/snooze`);
    expect(malformed.status).toBe(400);
    expect(heading(await malformed.text())).toBe('This link is not a snooze link');

    const old = link(jobId, (await runStart(jobId)) - 86_400_000);
    const ended = await press(old.token);
    expect(ended.status).toBe(409);
    expect(heading(await ended.text())).toBe('The job is no longer running');
  });

  it('refuses to snooze a run whose stop is already under way (API 409 STOP_UNDER_WAY, and the link says so)', async () => {
    const job = stack.emulator.store.add(INSTANCE, {
      name: 'slow_to_stop_discovery',
      type: 'METADATA_DISCOVERY',
      status: 'RUNNING',
      startedMinutesAgo: 30,
      neverStops: true,
    });
    const { token } = link(job.id, Number(job.startTime));
    const stop = await api(`/jobs/${job.id}/stop`, { method: 'POST', body: '{"reason":"owner asked"}' });
    expect(stop.status).toBe(202);
    const { stopId } = (await stop.json()) as { stopId: string };

    const refused = await snooze(job.id, { minutes: 30 });
    expect(refused.status).toBe(409);
    const problem = (await refused.json()) as { code: string; detail: string };
    expect(problem.code).toBe('STOP_UNDER_WAY');
    expect(problem.detail).toContain(stopId);
    const page = await press(token);
    expect(page.status).toBe(409);
    expect(heading(await page.text())).toBe('This job is being stopped already');
    // nothing was recorded: the run has no snooze
    const snoozes = (await (await api(`/jobs/${job.id}/snoozes`)).json()) as { items: { snoozes: number }[] };
    expect(snoozes.items.every((item) => item.snoozes === 0)).toBe(true);
  });

  it('refuses a button press whose body is marked base64 but is not (400), and snoozes nothing', async () => {
    const jobId = jobs.obs_lake_discovery as string;
    const { token } = link(jobId, await runStart(jobId));
    const before = await (await api(`/jobs/${jobId}/snoozes`)).json();
    const event = JSON.parse(
      readFileSync(new URL('../../events/http-snooze-link.json', import.meta.url), 'utf8'),
    );
    event.requestContext.http.method = 'POST';
    event.queryStringParameters = null;
    event.isBase64Encoded = true;
    // a valid form's base64 with characters base64 does not have: decoding what it could reads the form
    event.body = `${Buffer.from(`t=${token}`).toString('base64')}!!`;
    const answer = (await stack.handlers.snoozeLink(event, lambdaContext(10_000))) as {
      statusCode: number;
      body: string;
    };
    expect(answer.statusCode).toBe(400);
    expect(heading(answer.body)).toBe('This link is not a snooze link');
    expect(await (await api(`/jobs/${jobId}/snoozes`)).json()).toEqual(before);
  });

  it('answers 503 and changes nothing while LakeFormation is down; the link still works after', async () => {
    const jobId = jobs.stubborn_lineage_discovery as string;
    const { token } = link(jobId, await runStart(jobId));
    const admin = `${stack.emulator.url}/_admin/outage`;
    await fetch(admin, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    try {
      const down = await press(token);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('60');
      expect(heading(await down.text())).toBe('The snooze could not be made right now');
    } finally {
      await fetch(admin, { method: 'DELETE' });
    }
    const up = await press(token);
    expect(up.status).toBe(200);
  });
});
