import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedCurl } from '../../local/sign.js';
import { gone, type WatchedProcess, watch } from '../support/child-process.js';

/** `npm start` as a user runs it: a child process, its output read like a person would. */
let stack: WatchedProcess;
let urls: { http: string; queue: string; emulator: string; moto: string; motoPid: number };
const waitForOutput = (pattern: RegExp) => stack.waitFor(pattern);

async function jobStatus(name: string): Promise<{ id: string; status: string; stopsAccepted: number }> {
  const { jobs } = (await (await fetch(`${urls.emulator}/_admin/jobs`)).json()) as {
    jobs: { id: string; name: string; status: string; stopsAccepted: number }[];
  };
  const job = jobs.find((j) => j.name === name);
  if (!job) throw new Error(`no demo job ${name}`);
  return job;
}

beforeAll(async () => {
  stack = watch(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    ...process.env,
    HTTP_PORT: '0',
    EMULATOR_PORT: '0',
    MOTO_PORT: '0',
    LOCAL_SCHEDULE_SECONDS: '3',
    LOCAL_FIRST_RUN_SECONDS: '3',
    AWS_ENDPOINT_URL: '',
  });
  await waitForOutput(/Ctrl-C stops everything/);
  const field = (label: string) => stack.output().match(new RegExp(`${label}\\s+(http://\\S+)`))?.[1] ?? '';
  urls = {
    http: field('HTTP function'),
    queue: field('stop queue \\(SQS\\)'),
    emulator: field('LakeFormation \\+ IAM'),
    moto: field('moto'),
    motoPid: Number(stack.output().match(/\(pid (\d+)\)/)?.[1]),
  };
}, 60_000);

afterAll(async () => {
  if (stack.child.exitCode === null) stack.child.kill('SIGKILL');
});

describe('npm start without moto_server', () => {
  it('says so in one line, with how to install it, and exits non-zero', async () => {
    // a PATH that holds node and nothing else
    const bin = await mkdtemp(join(tmpdir(), 'no-moto-'));
    await symlink(process.execPath, join(bin, 'node'));
    const lonely = watch(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
      ...process.env,
      PATH: bin,
      HTTP_PORT: '0',
      EMULATOR_PORT: '0',
      MOTO_PORT: '0',
    });
    const [code] = await lonely.exited;
    await rm(bin, { recursive: true, force: true });

    expect(code).toBe(1);
    expect(lonely.output().trim().split('\n')).toEqual([
      'moto_server is not installed: pip install "moto[server]==5.2.1"',
    ]);
  });
});

describe('npm start (local/start.ts) as a child process', () => {
  it('prints where everything is', () => {
    expect(urls.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(urls.queue).toMatch(/lf-job-stopper-local-stop$/);
    expect(urls.motoPid).toBeGreaterThan(0);
    expect(stack.output()).toContain('X-Signature: sha256=');
  });

  it('stops a demo job with the printed signed curl’s request', async () => {
    const before = await jobStatus('obs_lake_discovery');
    // the same request the printed curl makes, made with fetch
    const curl = signedCurl(urls.http, before.id);
    const header = (name: string) => curl.match(new RegExp(`${name}: ([^']+)`))?.[1] ?? '';
    const body = curl.match(/-d '([^']+)'/)?.[1] ?? '';

    const response = await fetch(`${urls.http}/jobs/${before.id}/stop`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Timestamp': header('X-Timestamp'),
        'X-Signature': header('X-Signature'),
      },
      body,
    });

    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ jobId: before.id, outcome: 'STOP_REQUESTED' });
    await waitForOutput(new RegExp(`HTTP\\s+job ${before.id.slice(0, 8)} → STOP_REQUESTED`));
  });

  it('stops another demo job from a message sent to the queue', async () => {
    const job = await jobStatus('adhoc_table_discovery');
    const sqs = new SQSClient({
      endpoint: urls.moto,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });

    await sqs.send(
      new SendMessageCommand({
        QueueUrl: urls.queue,
        MessageBody: JSON.stringify({ jobId: job.id, source: 'test' }),
      }),
    );

    await waitForOutput(new RegExp(`QUEUE\\s+job ${job.id.slice(0, 8)} → STOP_REQUESTED`));
    expect((await jobStatus('adhoc_table_discovery')).stopsAccepted).toBe(1);
  });

  it('stops the stale demo jobs on schedule and spares the excluded one', async () => {
    await waitForOutput(/REAPER\s+scanned \d+, stale 2, excluded 1, enqueued 2/);
    await waitForOutput(/QUEUE\s+job 03141229 → STOP_REQUESTED \(source stale-job-reaper/);
    await waitForOutput(/QUEUE\s+job 8a2d4b6c → STOP_REQUESTED \(source stale-job-reaper/);
    expect((await jobStatus('critical_finance_discovery')).stopsAccepted).toBe(0);
  });

  it('warns the quarterly demo job with a snooze link, and leaves it alone once the link is pressed', async () => {
    const job = await jobStatus('quarterly_ledger_reconcile');
    await waitForOutput(/WARNED\s+job 6b1f0c3e quarterly_ledger_reconcile: running \d+ min, limit 240 min/);
    const link = stack.output().match(/snooze it \(open in a browser\): (http:\/\/\S+)/)?.[1] ?? '';
    expect(link.startsWith(`${urls.http}/snooze?t=`)).toBe(true);
    expect((await fetch(link)).status).toBe(200);

    const pressed = await fetch(`${urls.http}/snooze`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ t: link.split('t=')[1] ?? '' }).toString(),
    });
    expect(pressed.status).toBe(200);
    await waitForOutput(/SNOOZED job 6b1f0c3e quarterly_ledger_reconcile until \d\d:\d\d UTC \(link\)/);
    await waitForOutput(/REAPER\s+job 6b1f0c3e quarterly_ledger_reconcile → snoozed: left alone until/);
    expect((await jobStatus('quarterly_ledger_reconcile')).stopsAccepted).toBe(job.stopsAccepted);
  });

  it('shuts everything down on Ctrl-C, leaving no process behind', async () => {
    stack.child.kill('SIGINT');
    const [code] = await stack.exited;

    expect(code).toBe(0);
    expect(await gone(urls.motoPid, 200)).toBe(true);
    await expect(fetch(`${urls.emulator}/_admin/health`)).rejects.toThrow();
    await expect(fetch(urls.http)).rejects.toThrow();
  });
});
