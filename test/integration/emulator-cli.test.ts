import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../local/emulator/main.ts', import.meta.url));

/** Runs the emulator CLI with `args` until it exits, or until its output shows `ready` (then stops it). */
function run(
  args: string[],
  ready?: RegExp,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (ready?.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let busy: Server;
let busyPort = 0;

beforeAll(async () => {
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', () => resolve()));
  busyPort = (busy.address() as { port: number }).port;
});

afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

describe('npm run emulator (local/emulator/main.ts)', () => {
  it('prints its usage with --help and exits 0', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('usage: npm run emulator -- [--port 4010] [--seed local/seed/demo.json]');
  });

  it.each([
    [['--port', 'abc'], 'error: --port must be a port number from 0 to 65535, got "abc"'],
    [['--port', '70000'], 'error: --port must be a port number from 0 to 65535, got "70000"'],
    [['--bogus'], "error: Unknown option '--bogus'"],
    [['stray'], "error: Unexpected argument 'stray'"],
    [['--seed', '/nonexistent/seed.json'], 'error: --seed /nonexistent/seed.json: no such file'],
    [['--seed', SCRIPT], `error: --seed ${SCRIPT} is not valid JSON`],
  ])('refuses %j with exit code 2, one message and no stack trace', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('says which port is in use, without a stack trace', async () => {
    const { code, stderr } = await run(['--port', String(busyPort)]);
    expect(code).toBe(2);
    expect(stderr).toBe(`error: the emulator cannot listen: port ${busyPort} is in use; choose another\n`);
  });

  it('serves on a free port when asked for port 0', async () => {
    const { code, stdout } = await run(['--port', '0'], /admin API under/);
    expect(stdout).toMatch(/LakeFormation \+ IAM emulator on http:\/\/127\.0\.0\.1:\d+/);
    expect(code).toBe(0); // stopped by SIGTERM, cleanly
  });
});
