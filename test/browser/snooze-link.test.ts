import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMinutes, formatTime } from '../../lib/edge/http/snooze-pages.js';
import { type PeopleEvent, type Stack, startStack } from '../../local/stack.js';

/**
 * The snooze link as its owner meets it: the local stack's reaper warns a job, the link comes from
 * the Job Warned event the people rule delivers, and Debian's chromium opens it, reads it as a
 * phone would, and presses the button. Screenshots of both pages go to SCREENSHOT_DIR.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? '.local/browser';
/** A job name with markup in it: job names are user data. */
const NAME = 'quarterly_<b>close</b> & "co" <script>alert(1)</script>';
const JOB_ID = '0b7e4c1a-9d2f-4a6b-8e3c-5f1a2b3c4d5e';

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

async function emulatorJob(): Promise<{ status: string; stopsAccepted: number }> {
  const { jobs } = (await (await fetch(`${stack.emulator.url}/_admin/jobs`)).json()) as {
    jobs: { id: string; status: string; stopsAccepted: number }[];
  };
  const job = jobs.find((j) => j.id === JOB_ID);
  if (!job) throw new Error('the test job is gone');
  return job;
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

  it('comes in the Job Warned event of the reaper’s run', async () => {
    const summary = (await stack.reap()) as { warned: number; enqueued: number };
    expect(summary).toMatchObject({ warned: 2 }); // this job and the demo's quarterly_ledger_reconcile
    warned = await eventOf('Job Warned');
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

  it('snoozes once at the press of the button, and the reaper’s next run leaves the job alone', async () => {
    const page = await phonePage();
    await page.goto(link);
    const pressed = Date.now();
    const [response] = await Promise.all([page.waitForNavigation(), page.locator('button').click()]);
    expect(response?.status()).toBe(200);
    expect(await text(page, 'h1')).toBe('Snoozed');
    expect(await field(page, 'Job')).toBe(NAME);
    expect(await field(page, 'Snoozes left')).toBe('2');
    const until = Date.parse(
      `${(await field(page, 'Snoozed until')).replace(' UTC', '').replace(' ', 'T')}:00Z`,
    );
    expect(until).toBeGreaterThanOrEqual(Math.floor((pressed + 120 * 60_000) / 60_000) * 60_000 - 60_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 120 * 60_000);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'snooze-done.png'), fullPage: true });

    const snoozed = await eventOf('Stop Snoozed');
    expect(snoozed.detail).toMatchObject({ jobId: JOB_ID, source: 'link', minutes: 120, snoozesLeft: 2 });

    const summary = (await stack.reap()) as { snoozed: number; waiting: number };
    // held by the snooze (its end is later than the warning's stop time), not only by the warning
    expect(summary.snoozed).toBe(1);
    expect(await emulatorJob()).toEqual(expect.objectContaining({ status: 'RUNNING', stopsAccepted: 0 }));

    // the same link again: used
    const again = await page.goto(link);
    expect(again?.status()).toBe(409);
    expect(await text(page, 'h1')).toBe('This link has been used already');
    await page.context().close();
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
