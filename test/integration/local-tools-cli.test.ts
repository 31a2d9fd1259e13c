import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { watch } from '../support/child-process.js';

/** The local tools run as a user runs them, given bad input: one line naming the value, an exit code, no stack. */
async function run(script: string, args: string[], env: Record<string, string> = {}) {
  const child = watch(process.execPath, ['--import', 'tsx', script, ...args], {
    ...process.env,
    HTTP_PORT: '0',
    EMULATOR_PORT: '0',
    MOTO_PORT: '0',
    ...env,
  });
  const [code] = await child.exited;
  return { code, output: child.output() };
}

describe('npm start with bad settings', () => {
  it.each([
    ['HTTP_PORT', 'abc', 'HTTP_PORT must be a port number from 0 to 65535, got "abc"'],
    ['EMULATOR_PORT', '70000', 'EMULATOR_PORT must be a port number from 0 to 65535, got "70000"'],
    [
      'LOCAL_SCHEDULE_SECONDS',
      'soon',
      'LOCAL_SCHEDULE_SECONDS must be a whole number of seconds from 0 to 86400, got "soon"',
    ],
    [
      'LOCAL_FIRST_RUN_SECONDS',
      '-1',
      'LOCAL_FIRST_RUN_SECONDS must be a whole number of seconds from 0 to 86400, got "-1"',
    ],
  ])('refuses %s=%s before starting anything', async (name, value, message) => {
    const { code, output } = await run('local/start.ts', [], { [name]: value });
    expect(code).toBe(2);
    expect(output.trim()).toBe(`error: ${message}`);
  });
});

/** The same, stdout and stderr apart: usage and machine-readable output belong on stdout alone. */
function runApart(script: string, args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { env: { ...process.env, HTTP_PORT: '0', EMULATOR_PORT: '0', MOTO_PORT: '0' } },
      (error, stdout, stderr) => done({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe.each([
  ['npm start', 'local/start.ts', /^usage: npm start \[-- --help\]\n[\s\S]*MOTO_PORT/],
  ['npm run demo', 'local/demo.ts', /^usage: npm run demo \[-- --help\]\n/],
  ['npm run bench', 'bench/run.ts', /^usage: npm run bench \[-- --help\]\n[\s\S]*BENCH_RUNS/],
  ['npm run stops', 'cli/stops.ts', /^usage: npm run stops -- list <jobId>/],
  ['npm run preflight', 'scripts/preflight.ts', /^usage: npm run preflight -- --stage <stage>/],
])('%s', (_name, script, usage) => {
  it('prints its usage on stdout with --help and exits 0, starting nothing', async () => {
    const { code, stdout, stderr } = await runApart(script, ['--help']);
    expect(stdout).toMatch(usage);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('refuses an unknown flag: error: on stderr, exit code 2, no stack trace', async () => {
    const { code, stdout, stderr } = await runApart(script, ['--bogus']);
    expect(stderr).toMatch(/^error: Unknown option '--bogus'/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).toBe('');
    expect(code).toBe(2);
  });
});

/** A plain TCP server holding a port of 127.0.0.1, as another program would. */
async function occupyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, server };
}

describe('npm start on a port in use', () => {
  it.each([
    [
      'MOTO_PORT',
      (port: number) =>
        `error: MOTO_PORT ${port} is in use (another moto_server, or npm start already running?): set MOTO_PORT to another port, or 0 for a free one`,
    ],
    [
      'HTTP_PORT',
      (port: number) =>
        `error: HTTP_PORT ${port} is in use: set HTTP_PORT to another port, or 0 for a free one`,
    ],
    [
      'EMULATOR_PORT',
      (port: number) =>
        `error: EMULATOR_PORT ${port} is in use: set EMULATOR_PORT to another port, or 0 for a free one`,
    ],
  ])(
    'names %s and the fix in one line, exit code 2',
    async (name, message) => {
      const { port, server } = await occupyPort();
      try {
        const { code, output } = await run('local/start.ts', [], { [name]: String(port) });
        expect(output.trim()).toBe(message(port));
        expect(code).toBe(2);
      } finally {
        server.close();
      }
    },
    60_000,
  );
});

describe('npm run sign', () => {
  it('takes the URL as --url, as npm run stops does, or as a second argument', async () => {
    for (const args of [
      ['job-1', '--url', 'http://127.0.0.1:3999'],
      ['job-1', 'http://127.0.0.1:3999'],
    ]) {
      const { code, output } = await run('local/sign.ts', args);
      expect(code).toBe(0);
      expect(output).toMatch(/^curl -sS -X POST http:\/\/127\.0\.0\.1:3999\/jobs\/job-1\/stop/);
    }
  });

  it('prints its usage with --help', async () => {
    const { code, output } = await run('local/sign.ts', ['--help']);
    expect(code).toBe(0);
    expect(output).toMatch(/^usage: npm run sign -- <jobId> \[--url <http url>\]/);
  });

  it.each([
    [['--bogus'], "error: Unknown option '--bogus'"],
    [['a b'], 'error: the job id must be 1-64 letters, digits or dashes, got "a b"'],
    [
      ['job-1', 'not a url'],
      'error: the url must be the local HTTP API such as http://127.0.0.1:3000, got "not a url"',
    ],
    [[], 'error: usage: npm run sign -- <jobId> [--url <http url>]'],
  ])('refuses %j with exit code 2', async (args, first) => {
    const { code, output } = await run('local/sign.ts', args);
    expect(code).toBe(2);
    expect(output.split('\n')[0]).toBe(first);
    expect(output).not.toMatch(/\n\s+at /);
  });
});

describe('npm run invoke', () => {
  it('names a misspelt function and the right one, without starting a stack', async () => {
    const { code, output } = await run('local/invoke.ts', ['stopjob', 'events/http-stop-job-bearer.json']);
    expect(code).toBe(2);
    expect(output.trim()).toBe(
      'error: no function "stopjob" (did you mean stopJob?); one of stopJob, readStops, bulkStop, confirmStops, stopStaleJobs, snoozeJob, snoozeLink',
    );
  });

  it('prints its usage with --help', async () => {
    const { code, output } = await run('local/invoke.ts', ['--help']);
    expect(code).toBe(0);
    expect(output).toMatch(/^usage: npm run invoke -- <stopJob\|readStops\|/);
  });
});

describe('npm run enqueue', () => {
  it.each([
    [['job-1'], { STOP_QUEUE_URL: '' }, 'error: no queue: pass --queue-url or set STOP_QUEUE_URL'],
    [['--queue-url', 'http://127.0.0.1:9/123456789012/stop'], {}, 'error: no jobs given'],
    [['--bogus', 'job-1'], {}, "error: Unknown option '--bogus'"],
  ])('refuses %j with error: and exit code 2, as the other tools do', async (args, env, first) => {
    const { code, output } = await run('cli/enqueue-stops.ts', args, env);
    expect(code).toBe(2);
    expect(output.slice(0, first.length)).toBe(first);
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('names a missing AWS region before sending anything', async () => {
    const { code, output } = await run(
      'cli/enqueue-stops.ts',
      ['--queue-url', 'http://127.0.0.1:9/123456789012/stop', 'job-1'],
      { AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_CONFIG_FILE: '/nonexistent', AWS_PROFILE: '' },
    );
    expect(code).toBe(2);
    expect(output.trim()).toBe(
      'error: no AWS region: set AWS_REGION (or a profile region), or give the queue as https://sqs.<region>.amazonaws.com/<account>/<name>; nothing was sent',
    );
  });
});
