import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { capturedLogLines, registerSecret } from '../support/logs.js';

// the local stack's caller keys (its password is registered for every file)
registerSecret('local-demo-hmac-key', 'local-demo-bearer-token');

/** `npm run invoke`: a real handler, a sample event, a local stack started and stopped for it. */
function invoke(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'local/invoke.ts', ...args],
      // the stack starts its own moto; the suite's must not leak in
      { env: { ...process.env, AWS_ENDPOINT_URL: '' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        // the child's log lines are scanned for secrets with this file's own
        for (const line of stderr.split('\n')) if (line.startsWith('{')) capturedLogLines.push(line);
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('npm run invoke', () => {
  it('runs the reaper on the sample schedule event: the result alone on stdout, the logs on stderr', async () => {
    const { code, stdout, stderr } = await invoke('stopStaleJobs', 'events/schedule.json');

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      scanned: 8, // the RUNNING demo jobs of local/seed/demo.json
      stale: 2,
      excluded: 1,
      enqueued: 2,
      // quarterly_ledger_reconcile, 225 min into its 240 with 30 min of warning (local/seed/stack.json)
      warned: 1,
      waiting: 0,
      snoozed: 0,
      unreachable: 0,
      dryRun: false,
      capped: false,
    });
    expect(stderr).toContain('"message":"reaper run"');
  }, 60_000);

  it('answers the sample bearer request with 202 STOP_REQUESTED', async () => {
    const { code, stdout } = await invoke('stopJob', 'events/http-stop-job-bearer.json');

    expect(code).toBe(0);
    const response = JSON.parse(stdout) as { statusCode: number; body: string };
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toMatchObject({ outcome: 'STOP_REQUESTED' });
  }, 60_000);

  it("answers through npm run -s invoke with JSON alone on stdout, npm's banner left out", async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        'npm',
        ['run', '-s', 'invoke', '--', 'readStops', 'events/http-list-stops.json'],
        { env: { ...process.env, AWS_ENDPOINT_URL: '' }, timeout: 60_000 },
        (error, out, err) => {
          for (const line of err.split('\n')) if (line.startsWith('{')) capturedLogLines.push(line);
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out });
        },
      );
    });
    expect(code).toBe(0);
    // the whole of stdout is one JSON document: the function's answer
    const response = JSON.parse(stdout) as { statusCode: number; body: string };
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toHaveProperty('items');
  }, 60_000);

  it('names an unknown function and the known ones, exit 2, starting nothing', async () => {
    const { code, stdout, stderr } = await invoke('stopAll', 'events/schedule.json');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error: no function "stopAll"; one of stopJob, readStops, /);
  });

  it('asks for the event when none is given, with the usage, exit 2, starting nothing', async () => {
    const { code, stdout, stderr } = await invoke('bulkStop');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error: give a function and one event\n\nusage: npm run invoke -- </);
  });

  it('names an event file that cannot be read, exit 2, starting nothing', async () => {
    const { code, stdout, stderr } = await invoke('bulkStop', 'events/none.json');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error: cannot read the event events\/none\.json: ENOENT/);
  });

  it('refuses an unknown flag, exit 2, starting nothing', async () => {
    const { code, stdout, stderr } = await invoke('--bogus', 'bulkStop', 'events/sqs-stop-batch.json');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error: Unknown option '--bogus'/);
  });
});
