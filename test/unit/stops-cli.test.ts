import { describe, expect, it } from 'vitest';
import { main, type StopsIo } from '../../cli/stops.js';

const STOP = {
  stopId: '019ad7a4-5c00-7b3e-9a4f-2c1d0e9f8a7b',
  jobId: 'job-1',
  instanceId: 'inst-1',
  state: 'REQUESTED',
  outcome: 'STOP_REQUESTED',
  createdAt: '2026-12-01T10:00:00.000Z',
  updatedAt: '2026-12-01T10:00:01.000Z',
  requests: [{ source: 'webhook', caller: 'bearer:0', reason: 'runaway', at: '2026-12-01T10:00:00.000Z' }],
  requestCount: 2,
  events: [{ at: '2026-12-01T10:00:00.000Z', type: 'Stop Requested', detail: { outcome: 'STOP_REQUESTED' } }],
};

/** The CLI against a fake API answering `pages` in order; records what it asked. */
function run(argv: string[], pages: { status: number; body: unknown }[], env: Record<string, string> = {}) {
  const asked: { url: string; authorization: string | null }[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const io: StopsIo = {
    env: { LF_STOPPER_TOKEN: 'cli-token', ...env },
    fetch: (async (url: string, init?: RequestInit) => {
      asked.push({ url, authorization: new Headers(init?.headers).get('authorization') });
      const page = pages.shift() ?? { status: 500, body: {} };
      return new Response(JSON.stringify(page.body), { status: page.status });
    }) as typeof fetch,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  };
  return main(argv, io).then((code) => ({ code, out: out.join('\n'), err: err.join('\n'), asked }));
}

describe('npm run stops', () => {
  it("shows a job's warnings and snoozes per run, each snooze below", async () => {
    const watch = {
      jobId: 'job-1',
      instanceId: 'inst-1',
      runStartedAt: '2026-12-01T06:00:00.000Z',
      warning: {
        warnedAt: '2026-12-01T09:35:00.000Z',
        stopAt: '2026-12-01T10:05:00.000Z',
        limitMinutes: 240,
        warnMinutes: 30,
        name: 'quarterly_x',
      },
      snoozedUntil: '2026-12-01T12:00:00.000Z',
      stopAt: '2026-12-01T12:00:00.000Z',
      snoozes: 1,
      snoozesLeft: 2,
      snoozeLog: [
        { at: '2026-12-01T10:00:00.000Z', minutes: 120, until: '2026-12-01T12:00:00.000Z', source: 'link' },
      ],
    };
    const { code, out, asked } = await run(
      ['snoozes', 'job-1', '--instance', 'inst-1', '--url', 'https://api.example.com'],
      [{ status: 200, body: { items: [watch] } }],
    );
    expect(code).toBe(0);
    expect(asked.map((a) => a.url)).toEqual(['https://api.example.com/instances/inst-1/jobs/job-1/snoozes']);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^RUN STARTED\s+WARNED\s+STOP NO SOONER THAN\s+SNOOZED UNTIL\s+SNOOZES\s+LEFT$/);
    expect(lines[2]).toMatch(
      /^2026-12-01T06:00:00.000Z\s+2026-12-01T09:35:00.000Z\s+2026-12-01T12:00:00.000Z\s+2026-12-01T12:00:00.000Z\s+1\s+2$/,
    );
    expect(out).toMatch(
      /snoozes:\n.*\n.*\n\s+2026-12-01T06:00:00.000Z\s+2026-12-01T10:00:00.000Z\s+120 min\s+2026-12-01T12:00:00.000Z\s+link/,
    );

    const none = await run(['snoozes', 'job-2'], [{ status: 200, body: { items: [] } }]);
    expect(none.out).toBe('no warnings or snoozes recorded for job job-2');
  });

  it("lists a job's stops as a table, asking the HTTP API with the bearer token", async () => {
    const { code, out, asked } = await run(
      ['list', 'job-1', '--url', 'https://api.example.com/'],
      [{ status: 200, body: { items: [STOP] } }],
    );
    expect(code).toBe(0);
    expect(asked).toEqual([
      { url: 'https://api.example.com/jobs/job-1/stops?limit=20', authorization: 'Bearer cli-token' },
    ]);
    expect(out.split('\n')[0]).toMatch(
      /^CREATED\s+STOP ID\s+STATE\s+OUTCOME\s+STATUS\s+REQUESTS\s+FIRST SOURCE$/,
    );
    expect(out).toContain(`2026-12-01T10:00:00.000Z  ${STOP.stopId}  REQUESTED  STOP_REQUESTED`);
    expect(out).toMatch(/2\s+webhook$/m);
  });

  it("follows nextToken with --all, and lists an instance's job", async () => {
    const { out, asked } = await run(
      ['list', 'job-1', '--all', '--instance', 'inst-2', '--limit', '1'],
      [
        { status: 200, body: { items: [STOP], nextToken: 'abc' } },
        { status: 200, body: { items: [{ ...STOP, stopId: 'second' }] } },
      ],
    );
    expect(asked.map((a) => a.url)).toEqual([
      'http://127.0.0.1:3000/instances/inst-2/jobs/job-1/stops?limit=1',
      'http://127.0.0.1:3000/instances/inst-2/jobs/job-1/stops?limit=1&nextToken=abc',
    ]);
    expect(out).toContain('second');
  });

  it('uses the local stack’s own token for the local stack on any port, never for another host', async () => {
    const noToken = { LF_STOPPER_TOKEN: undefined as unknown as string };
    const local = await run(
      ['list', 'job-1', '--url', 'http://127.0.0.1:3999'],
      [{ status: 200, body: { items: [] } }],
      noToken,
    );
    expect(local.code).toBe(0);
    expect(local.asked[0]?.authorization).toBe('Bearer local-demo-bearer-token');
    const remote = await run(['list', 'job-1', '--url', 'https://api.example.com'], [], noToken);
    expect(remote.code).toBe(2);
    expect(remote.err).toContain('no bearer token');
  });

  it('shows one stop with its requests and events', async () => {
    const { code, out } = await run(['show', STOP.stopId], [{ status: 200, body: STOP }]);
    expect(code).toBe(0);
    expect(out).toContain('state:       REQUESTED');
    expect(out).toContain('requests (2):');
    expect(out).toMatch(/2026-12-01T10:00:00.000Z\s+webhook\s+bearer:0\s+runaway/);
    expect(out).toMatch(/Stop Requested\s+\{"outcome":"STOP_REQUESTED"\}/);
  });

  it("prints the API's JSON with --json", async () => {
    const { out } = await run(['show', STOP.stopId, '--json'], [{ status: 200, body: STOP }]);
    expect(JSON.parse(out)).toEqual(STOP);
  });

  it.each([
    [['list'], 'say list <jobId>, show <stopId> or snoozes <jobId>'],
    [['delete', 'x'], 'unknown command or arguments: delete x'],
    [['list', 'j', '--limit', '500'], '--limit must be an integer from 1 to 100, got "500"'],
    [['list', 'j', '--bogus'], "Unknown option '--bogus'"],
    [['list', 'j', '--url', 'not a url'], "--url must be the HTTP API's base URL"],
  ])('refuses %j with exit code 2 and says why', async (argv, message) => {
    const { code, err } = await run(argv, []);
    expect(code).toBe(2);
    expect(err).toContain(message);
  });

  it('asks for a token for a stage other than the local stack', async () => {
    const { code, err } = await run(['list', 'j', '--url', 'https://api.example.com'], [], {
      LF_STOPPER_TOKEN: '',
    });
    expect(code).toBe(2);
    expect(err).toContain('no bearer token');
  });

  it("reports the API's problem with exit code 1", async () => {
    const { code, err } = await run(
      ['show', STOP.stopId],
      [{ status: 404, body: { code: 'STOP_NOT_FOUND', detail: 'the ledger has no stop x' } }],
    );
    expect(code).toBe(1);
    expect(err).toBe('error: HTTP 404 STOP_NOT_FOUND: the ledger has no stop x');
  });
});
