import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedCurl } from '../../local/sign.js';
import { parseLocalAuth } from '../../local/stack.js';
import { gone, type WatchedProcess, watch } from '../support/child-process.js';
import { registerSecret } from '../support/logs.js';

/** The access key local/seed/demo.json gives the emulator, and `LOCAL_AUTH=aksk` puts in the secret. */
const LOCAL_SECRET_KEY = 'local-demo-secret-key';
registerSecret(LOCAL_SECRET_KEY);

/** `LOCAL_AUTH=aksk npm start` as a user runs it: a child process, its output read like a person would. */
let stack: WatchedProcess;
let urls: { http: string; emulator: string; motoPid: number };

const start = (env: NodeJS.ProcessEnv) =>
  watch(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    ...process.env,
    HTTP_PORT: '0',
    EMULATOR_PORT: '0',
    MOTO_PORT: '0',
    // no reaper run during the test: only the stop it makes
    LOCAL_SCHEDULE_SECONDS: '3600',
    LOCAL_FIRST_RUN_SECONDS: '3600',
    AWS_ENDPOINT_URL: '',
    ...env,
  });

async function emulatorJob(name: string): Promise<{ id: string; stopsAccepted: number }> {
  const { jobs } = (await (await fetch(`${urls.emulator}/_admin/jobs`)).json()) as {
    jobs: { id: string; name: string; stopsAccepted: number }[];
  };
  const job = jobs.find((j) => j.name === name);
  if (!job) throw new Error(`no demo job ${name}`);
  return job;
}

beforeAll(async () => {
  stack = start({ LOCAL_AUTH: 'aksk' });
  await stack.waitFor(/Ctrl-C stops everything/, 60_000);
  const field = (label: string) => stack.output().match(new RegExp(`${label}\\s+(http://\\S+)`))?.[1] ?? '';
  urls = {
    http: field('HTTP function'),
    emulator: field('LakeFormation \\+ IAM'),
    motoPid: Number(stack.output().match(/\(pid (\d+)\)/)?.[1]),
  };
}, 60_000);

afterAll(async () => {
  if (stack.child.exitCode === null) stack.child.kill('SIGKILL');
});

describe('LOCAL_AUTH=aksk npm start', () => {
  it('says in its banner that requests are signed with an access key', () => {
    expect(stack.output()).toMatch(
      /Huawei auth\s+AK\/SK: every request signed \(SDK-HMAC-SHA256\), no IAM call/,
    );
  });

  it('stops a demo job with the printed curl’s request, every LakeFormation call signed and no IAM call', async () => {
    const job = await emulatorJob('obs_lake_discovery');
    const curl = signedCurl(urls.http, job.id);
    const header = (name: string) => curl.match(new RegExp(`${name}: ([^']+)`))?.[1] ?? '';

    const response = await fetch(`${urls.http}/jobs/${job.id}/stop`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Timestamp': header('X-Timestamp'),
        'X-Signature': header('X-Signature'),
      },
      body: curl.match(/-d '([^']+)'/)?.[1] ?? '',
    });

    expect(response.status).toBe(202);
    await stack.waitFor(new RegExp(`HTTP\\s+job ${job.id.slice(0, 8)} → STOP_REQUESTED`));
    expect((await emulatorJob('obs_lake_discovery')).stopsAccepted).toBe(1);
    const stats = (await (await fetch(`${urls.emulator}/_admin/stats`)).json()) as Record<string, number>;
    expect(stats).toMatchObject({ tokensIssued: 0, signatureRefused: 0 });
    expect(stats.signed).toBeGreaterThan(0);
  });

  it('runs the emulator so that it refuses anything but a signature', async () => {
    const job = await emulatorJob('adhoc_table_discovery');
    const response = await fetch(
      `${urls.emulator}/v1/0a1b2c3d4e5f60718293a4b5c6d7e8f9/instances/2180518f-42b8-4947-b20b-adfc53981a25/lf-jobs/${job.id}`,
      { headers: { 'X-Auth-Token': 'any-token' } },
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error_code: 'APIG.0301' });
  });

  it('writes no secret key to its output or to the function logs', async () => {
    const logs = await readFile('.local/functions.log', 'utf8');
    expect(logs).toContain('"stop outcome"');
    expect(logs).not.toContain(LOCAL_SECRET_KEY);
    expect(stack.output()).not.toContain(LOCAL_SECRET_KEY);
  });

  it('shuts everything down on Ctrl-C', async () => {
    stack.child.kill('SIGINT');
    const [code] = await stack.exited;
    expect(code).toBe(0);
    expect(await gone(urls.motoPid, 200)).toBe(true);
  });
});

describe('LOCAL_AUTH', () => {
  it.each([
    [undefined, 'password'],
    ['', 'password'],
    [' aksk ', 'aksk'],
    ['password', 'password'],
  ])('reads %j as %s', (raw, auth) => {
    expect(parseLocalAuth(raw)).toBe(auth);
  });

  it('refuses any other value in one line naming both forms, exit code 2, before starting anything', async () => {
    const wrong = start({ LOCAL_AUTH: 'AKSK-please' });
    const [code] = await wrong.exited;

    expect(code).toBe(2);
    expect(wrong.output().trim().split('\n')).toEqual([
      'error: LOCAL_AUTH must be password or aksk, got "AKSK-please"',
    ]);
  });
});
