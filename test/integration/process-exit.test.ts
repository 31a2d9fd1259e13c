import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';

/**
 * A process that started moto must not leave it running, however it ends: through `process.exit`,
 * an uncaught error, or a termination signal (local/signals.ts), and `npm start` even when only npm
 * itself is signalled.
 */

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilGone(pid: number, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Runs `script` (ESM, with tsx) in a child; it reports moto's pid on stdout as `moto <pid>`. */
function child(script: string) {
  const process_ = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, AWS_ENDPOINT_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  process_.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  process_.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = once(process_, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const motoPid = new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const pid = /moto (\d+)/.exec(output)?.[1];
      if (pid) {
        clearInterval(timer);
        resolve(Number(pid));
      }
    }, 20);
    exited.then(() => {
      clearInterval(timer);
      reject(new Error(`exited before reporting moto's pid:\n${output}`));
    });
  });
  return { process: process_, motoPid, exited, output: () => output };
}

const START_MOTO = `
  import { startMoto } from './local/moto.ts';
  import { exitOnSignals } from './local/signals.ts';
  const moto = await startMoto();
  console.log('moto ' + moto.pid);
`;

describe('moto servers started by a process', () => {
  it('end with it when it calls process.exit without stopping them', async () => {
    const run = child(`${START_MOTO} process.exit(3);`);
    const pid = await run.motoPid;

    const [code] = await run.exited;

    expect(code).toBe(3);
    expect(await waitUntilGone(pid)).toBe(true);
  });

  it('end with it when it dies of an uncaught error', async () => {
    const run = child(`${START_MOTO} setTimeout(() => { throw new Error('boom'); }, 10);`);
    const pid = await run.motoPid;

    const [code] = await run.exited;

    expect(code).toBe(1);
    expect(await waitUntilGone(pid)).toBe(true);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('end with it on %s, after its cleanup, with exit code %i', async (signal, exitCode) => {
    const run = child(`${START_MOTO}
      exitOnSignals(async () => console.log('cleaned up'));
      setInterval(() => {}, 1000);`);
    const pid = await run.motoPid;

    run.process.kill(signal);
    const [code] = await run.exited;

    expect(code).toBe(exitCode);
    expect(run.output()).toContain('cleaned up');
    expect(await waitUntilGone(pid)).toBe(true);
  });
});

describe('npm start', () => {
  it('stops everything when npm alone is sent SIGTERM', async () => {
    const npm = spawn('npm', ['start'], {
      env: { ...process.env, HTTP_PORT: '0', EMULATOR_PORT: '0', AWS_ENDPOINT_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    npm.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = once(npm, 'exit');
    const until = Date.now() + 60_000;
    while (!output.includes('Ctrl-C stops everything')) {
      if (Date.now() > until || npm.exitCode !== null)
        throw new Error(`npm start did not come up:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const motoPid = Number(/\(pid (\d+)\)/.exec(output)?.[1]);
    const emulator = /LakeFormation \+ IAM\s+(http:\/\/\S+)/.exec(output)?.[1] ?? '';
    const http = /HTTP function\s+(http:\/\/\S+)/.exec(output)?.[1] ?? '';

    npm.kill('SIGTERM'); // npm only, as a process manager or `timeout` would
    await exited;

    expect(await waitUntilGone(motoPid)).toBe(true);
    await expect(fetch(`${emulator}/_admin/health`)).rejects.toThrow();
    await expect(fetch(http)).rejects.toThrow();
    expect(output).toContain('stopping…');
  }, 90_000);
});
