import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../local/stack.js';
import { registerSecret } from '../support/logs.js';

/**
 * `npm run stops` (cli/stops.ts, as a child process) against the local stack: a real stop, confirmed
 * by the confirm function after several checks, read back through the HTTP API.
 */

let stack: Stack;
let bearer: string;
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';

beforeAll(async () => {
  stack = await startStack({ httpPort: 0, emulatorPort: 0, scheduleMs: 0 });
  bearer = stack.config.webhook.bearerTokens[0] ?? '';
  registerSecret(bearer);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.httpUrl}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', ...init.headers },
  });

/** The CLI as a user runs it; no LF_STOPPER_* set, so it takes the local stack's own token. */
function stops(args: string[]) {
  const { LF_STOPPER_TOKEN: _token, LF_STOPPER_URL: _url, ...env } = process.env;
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'cli/stops.ts', ...args],
      { env },
      (error, stdout, stderr) => done({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('npm run stops -- show, on the local stack', () => {
  it('prints the confirmation checks of a stop confirmed after several', async () => {
    // the stack checks 3 s after the stop, then 6 s later; this job stops 5 s after the stop
    const target = stack.emulator.store.add(INSTANCE, {
      name: 'cli_slow_stop',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
      startedMinutesAgo: 30,
      stopDelayMs: 5_000,
    });
    const answer = await api(`/jobs/${target.id}/stop`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'cli check' }),
    });
    expect(answer.status).toBe(202);
    const { stopId } = (await answer.json()) as { stopId: string };
    await expect
      .poll(async () => ((await (await api(`/stops/${stopId}`)).json()) as { state: string }).state, {
        timeout: 30_000,
        interval: 500,
      })
      .toBe('CONFIRMED');

    const { code, stdout, stderr } = await stops(['show', stopId, '--url', stack.httpUrl]);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^state:\s+CONFIRMED$/m);
    const events = stdout.slice(stdout.indexOf('events:'));
    const at = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
    expect(events).toMatch(
      new RegExp(`^\\s+${at}\\s+Stop Requested\\s+\\{"outcome":"STOP_REQUESTED"\\}$`, 'm'),
    );
    expect(events).toMatch(
      new RegExp(`^\\s+${at}\\s+Confirmation Check\\s+\\{"status":"RUNNING","nextCheckSeconds":6\\}$`, 'm'),
    );
    expect(events).toMatch(
      new RegExp(`^\\s+${at}\\s+Stop Confirmed\\s+\\{"why":"ended","status":"STOPPED"`, 'm'),
    );
    // in the order they happened
    const order = ['Stop Requested', 'Confirmation Check', 'Stop Confirmed'].map((type) =>
      events.indexOf(type),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});
