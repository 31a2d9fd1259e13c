import { describe, expect, it } from 'vitest';
import { gone, watch } from '../support/child-process.js';

/**
 * A process that started moto must not leave it running, however it ends: through `process.exit`,
 * an uncaught error, or a termination signal (local/signals.ts); and `npm start` even when only npm
 * itself is signalled.
 */

/** Runs `code` after starting moto, in a child (ESM, with tsx) that reports moto's pid. */
function withMoto(code: string) {
  const script = `
    import { startMoto } from './local/moto.ts';
    import { exitOnSignals } from './local/signals.ts';
    const moto = await startMoto();
    console.log('moto ' + moto.pid);
    ${code}`;
  const run = watch(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    ...process.env,
    AWS_ENDPOINT_URL: '',
  });
  const motoPid = run.waitFor(/moto (\d+)/).then((match) => Number(match[1]));
  return { ...run, motoPid };
}

describe('moto servers started by a process', () => {
  it('end with it when it calls process.exit without stopping them', async () => {
    const run = withMoto('process.exit(3);');
    const pid = await run.motoPid;

    const [code] = await run.exited;

    expect(code).toBe(3);
    expect(await gone(pid)).toBe(true);
  });

  it('end with it when it dies of an uncaught error', async () => {
    const run = withMoto(`setTimeout(() => { throw new Error('boom'); }, 10);`);
    const pid = await run.motoPid;

    const [code] = await run.exited;

    expect(code).toBe(1);
    expect(await gone(pid)).toBe(true);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('end with it on %s, after its cleanup, with exit code %i', async (signal, exitCode) => {
    const run = withMoto(`
      exitOnSignals(async () => console.log('cleaned up'));
      setInterval(() => {}, 1000);`);
    const pid = await run.motoPid;

    run.child.kill(signal);
    const [code] = await run.exited;

    expect(code).toBe(exitCode);
    expect(run.output()).toContain('cleaned up');
    expect(await gone(pid)).toBe(true);
  });
});

describe('npm start', () => {
  it('stops everything when npm alone is sent SIGTERM', async () => {
    const npm = watch('npm', ['start'], {
      ...process.env,
      HTTP_PORT: '0',
      EMULATOR_PORT: '0',
      MOTO_PORT: '0',
      AWS_ENDPOINT_URL: '',
    });
    await npm.waitFor(/Ctrl-C stops everything/, 60_000);
    const motoPid = Number(/\(pid (\d+)\)/.exec(npm.output())?.[1]);
    const emulator = /LakeFormation \+ IAM\s+(http:\/\/\S+)/.exec(npm.output())?.[1] ?? '';
    const http = /HTTP function\s+(http:\/\/\S+)/.exec(npm.output())?.[1] ?? '';

    npm.child.kill('SIGTERM'); // npm only, as a process manager or `timeout` would
    await npm.exited;

    expect(await gone(motoPid)).toBe(true);
    await expect(fetch(`${emulator}/_admin/health`)).rejects.toThrow();
    await expect(fetch(http)).rejects.toThrow();
    expect(npm.output()).toContain('stopping…');
  }, 90_000);
});
