import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatMinutes, formatTime } from '../../lib/edge/http/snooze-pages.js';
import { type PeopleEvent, type Stack, startStack } from '../../local/stack.js';
import { captureLogs } from '../support/logs.js';

/**
 * The snooze link as its owner meets it: the local stack's reaper warns a job, the link comes from
 * the Job Warned event the people rule delivers, and Debian's chromium opens it, reads it as a
 * phone would, and presses the button. A reaper run after the warning's stop time then stops the
 * job's twin, warned with it but not snoozed, and leaves the snoozed job alone.
 *
 * Screenshots of both pages go to .local/browser (SCREENSHOT_DIR); with UPDATE_SCREENSHOTS=1 they
 * replace the ones the docs show, in docs/images.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DOCS_IMAGES = fileURLToPath(new URL('../../docs/images', import.meta.url));
const SCREENSHOT_DIR =
  process.env.UPDATE_SCREENSHOTS === '1' ? DOCS_IMAGES : (process.env.SCREENSHOT_DIR ?? '.local/browser');
/** A job name with markup in it: job names are user data. */
const NAME = 'quarterly_<b>close</b> & "co" <script>alert(1)</script>';
const JOB_ID = '0b7e4c1a-9d2f-4a6b-8e3c-5f1a2b3c4d5e';
/** The control: started with the job, warned in the same run, never snoozed. */
const TWIN_NAME = 'quarterly_close_twin';
const TWIN_ID = '4c2a9e71-6b3d-4f80-a5e2-7d9b1c3f5a08';

let stack: Stack;
let browser: Browser;
const events: PeopleEvent[] = [];
const requested: string[] = [];

async function eventOf(type: string, jobId = JOB_ID): Promise<PeopleEvent> {
  for (let waited = 0; waited < 15_000; waited += 100) {
    const event = events.find((e) => e['detail-type'] === type && e.detail.jobId === jobId);
    if (event) return event;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${type} event for ${jobId}: got ${events.map((e) => e['detail-type']).join(', ')}`);
}

async function emulatorJob(jobId = JOB_ID): Promise<{ status: string; stopsAccepted: number }> {
  const { jobs } = (await (await fetch(`${stack.emulator.url}/_admin/jobs`)).json()) as {
    jobs: { id: string; status: string; stopsAccepted: number }[];
  };
  const job = jobs.find((j) => j.id === jobId);
  if (!job) throw new Error(`the test job ${jobId} is gone`);
  return job;
}

/** The emulated LakeFormation's stop calls for `jobId`, accepted or not. */
async function stopCalls(jobId: string): Promise<unknown[]> {
  const { requests } = (await (await fetch(`${stack.emulator.url}/_admin/requests`)).json()) as {
    requests: { operation: string; jobId?: string }[];
  };
  return requests.filter((request) => request.operation === 'stopJob' && request.jobId === jobId);
}

/**
 * One reaper run with the functions' clock (Date.now) at `at`, epoch ms, and running on from there;
 * the emulated LakeFormation keeps the real clock, so the jobs' start times stay where they are.
 */
async function reapAt(at: number): Promise<unknown> {
  const realNow = Date.now;
  const offset = at - realNow();
  const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
  try {
    return await stack.reap();
  } finally {
    clock.mockRestore();
  }
}

/** A phone-sized page that records every request it makes. */
async function phonePage(): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  const page = await context.newPage();
  page.on('request', (request) => requested.push(request.url()));
  return page;
}

const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';
const field = async (page: Page, term: string) =>
  (await page.locator(`dt:text-is("${term}") + dd`).textContent()) ?? '';

beforeAll(async () => {
  stack = await startStack({
    httpPort: 0,
    emulatorPort: 0,
    scheduleMs: 0,
    onPeopleEvent: (e) => events.push(e),
  });
  const added = await fetch(`${stack.emulator.url}/_admin/jobs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    // 220 min into a 240 min limit with 30 min of warning (local/seed/stack.json, quarterly_*)
    body: JSON.stringify({
      jobs: [
        { id: JOB_ID, name: NAME, type: 'METADATA_MIGRATION', status: 'RUNNING', startedMinutesAgo: 220 },
        {
          id: TWIN_ID,
          name: TWIN_NAME,
          type: 'METADATA_MIGRATION',
          status: 'RUNNING',
          startedMinutesAgo: 220,
        },
      ],
    }),
  });
  expect(added.status).toBe(201);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  await mkdir(SCREENSHOT_DIR, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('the snooze link in a real browser', () => {
  let link: string;
  let warned: PeopleEvent;
  let twinWarned: PeopleEvent;
  /** The end of the snooze the button made, epoch ms (to the minute, as the page shows it). */
  let snoozedUntil: number;

  it('comes in the Job Warned event of the reaper’s run', async () => {
    const summary = (await stack.reap()) as { warned: number; enqueued: number };
    // this job, its twin and the demo's quarterly_ledger_reconcile
    expect(summary).toMatchObject({ warned: 3 });
    warned = await eventOf('Job Warned');
    twinWarned = await eventOf('Job Warned', TWIN_ID);
    expect(warned.detail).toMatchObject({
      name: NAME,
      limitMinutes: 240,
      warnMinutes: 30,
      runningMinutes: 220,
    });
    link = String(warned.detail.snoozeUrl);
    expect(link.startsWith(`${stack.httpUrl}/snooze?t=`)).toBe(true);
  });

  it('opens on a page that shows the job, its stop time and the button, and changes nothing', async () => {
    const page = await phonePage();
    for (let visit = 0; visit < 2; visit++) {
      const response = await page.goto(link);
      expect(response?.status()).toBe(200);
      expect(await text(page, 'h1')).toBe('Snooze the stop of this job?');
      // the name as text: its markup is shown, never run or rendered
      expect(await field(page, 'Job')).toBe(NAME);
      expect(await page.locator('main b, main script').count()).toBe(0);
      expect(await field(page, 'Job id')).toBe(JOB_ID);
      expect(await field(page, 'Stop time')).toBe(formatTime(Date.parse(String(warned.detail.stopAt))));
      expect(await field(page, 'Snoozes left')).toBe('3');
      expect(await text(page, 'button')).toBe(`Snooze for ${formatMinutes(120)}`);
    }
    // readable on a phone: nothing wider than the screen, a button a thumb can hit
    expect(
      await page.evaluate(
        // runs in the page (a string: the test's own types have no DOM)
        '(() => document.documentElement.scrollWidth <= window.innerWidth)()',
      ),
    ).toBe(true);
    const button = await page.locator('button').boundingBox();
    expect(button?.height).toBeGreaterThanOrEqual(44);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'snooze-offer.png'), fullPage: true });

    const api = await fetch(`${stack.httpUrl}/jobs/${JOB_ID}/snoozes`, {
      headers: { Authorization: `Bearer ${stack.config.webhook.bearerTokens[0]}` },
    });
    const { items } = (await api.json()) as { items: { snoozes: number; warning?: unknown }[] };
    expect(items).toEqual([expect.objectContaining({ snoozes: 0, warning: expect.any(Object) })]);
    expect(events.filter((e) => e['detail-type'] === 'Stop Snoozed')).toEqual([]);
    await page.context().close();
  });

  it('snoozes once at the press of the button, and the link works only once', async () => {
    const page = await phonePage();
    await page.goto(link);
    const pressed = Date.now();
    const [response] = await Promise.all([page.waitForNavigation(), page.locator('button').click()]);
    expect(response?.status()).toBe(200);
    expect(await text(page, 'h1')).toBe('Snoozed');
    expect(await field(page, 'Job')).toBe(NAME);
    expect(await field(page, 'Snoozes left')).toBe('2');
    snoozedUntil = Date.parse(
      `${(await field(page, 'Snoozed until')).replace(' UTC', '').replace(' ', 'T')}:00Z`,
    );
    expect(snoozedUntil).toBeGreaterThanOrEqual(
      Math.floor((pressed + 120 * 60_000) / 60_000) * 60_000 - 60_000,
    );
    expect(snoozedUntil).toBeLessThanOrEqual(Date.now() + 120 * 60_000);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'snooze-done.png'), fullPage: true });

    const snoozed = await eventOf('Stop Snoozed');
    expect(snoozed.detail).toMatchObject({ jobId: JOB_ID, source: 'link', minutes: 120, snoozesLeft: 2 });

    // the same link again: used
    const again = await page.goto(link);
    expect(again?.status()).toBe(409);
    expect(await text(page, 'h1')).toBe('This link has been used already');
    await page.context().close();
  });

  it('keeps the job from the reaper’s run past the warning’s stop time, which stops its twin', async () => {
    // both warned in the same run, with the same stop time: the snooze is all that tells them apart
    const stopAt = Date.parse(String(warned.detail.stopAt));
    expect(Date.parse(String(twinWarned.detail.stopAt))).toBe(stopAt);
    const at = stopAt + 30 * 60_000;
    expect(at).toBeLessThan(snoozedUntil);

    const logs = captureLogs();
    const summary = await reapAt(at);
    expect(summary).toMatchObject({ snoozed: 1 });
    const reaper = logs.lines;
    const about = (message: string) =>
      reaper.filter((line) => line.message === message).map((line) => line.jobId);
    // the twin's stop is queued; the snoozed job's is not
    const enqueued = about('stale job enqueued for stop');
    expect(enqueued).toContain(TWIN_ID);
    expect(enqueued).not.toContain(JOB_ID);
    expect(enqueued).toHaveLength((summary as { enqueued: number }).enqueued);
    expect(about('job snoozed: left alone')).toEqual([JOB_ID]);

    // the queue function stops the twin, and calls no stop of the snoozed job
    for (let waited = 0; (await emulatorJob(TWIN_ID)).stopsAccepted === 0; waited += 100) {
      if (waited >= 15_000) throw new Error('the twin was never stopped');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await stopCalls(TWIN_ID)).toHaveLength(1);
    expect(await stopCalls(JOB_ID)).toEqual([]);
    expect(await emulatorJob()).toEqual(expect.objectContaining({ status: 'RUNNING', stopsAccepted: 0 }));
  });

  it('refuses an altered link with a page that says so', async () => {
    const page = await phonePage();
    const token = link.split('t=')[1] ?? '';
    const [payload, kid, mac] = token.split('.');
    const other = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    const altered = Buffer.from(JSON.stringify({ ...other, m: 100_000 })).toString('base64url');
    const response = await page.goto(`${stack.httpUrl}/snooze?t=${altered}.${kid}.${mac}`);
    expect(response?.status()).toBe(400);
    expect(await text(page, 'h1')).toBe('This link has been altered');
    const unknown = await page.goto(`${stack.httpUrl}/snooze?t=${payload}.${'0'.repeat(16)}.${mac}`);
    expect(unknown?.status()).toBe(403);
    expect(await text(page, 'h1')).toBe('This link was signed with a key this service no longer has');
    await page.context().close();
  });

  it('loaded nothing but the pages themselves', () => {
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((url) => !url.startsWith(`${stack.httpUrl}/snooze`))).toEqual([]);
  });
});
