import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { parsePolicy } from '../../lib/domain/reaper/policy.js';
import { EnqueueError, REAPER_SOURCE, runReaper } from '../../lib/domain/reaper/reaper.js';
import { metrics } from '../../lib/platform/metrics.js';
import type { SqsClientSource } from '../../lib/upstream/aws/sqs.js';
import type { LakeFormationClient, ListJobsParams } from '../../lib/upstream/lakeformation/client.js';
import type { Job } from '../../lib/upstream/lakeformation/job.js';
import { memoryWatches } from '../support/fake-watches.js';
import { captureLogs, emfTotals } from '../support/logs.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const QUEUE = 'http://127.0.0.1:1/123456789012/stop';
const sqsMock = mockClient(SQSClient);

type Seed = Partial<Job> & { instanceId?: string; minutes?: number };

/** A list-only LakeFormation client over `seeds`, honouring type, status, offset and limit. */
function listingClient(seeds: Seed[]) {
  const jobs = seeds.map((seed, i) => ({
    id: seed.id ?? `job-${i}`,
    name: seed.name ?? `job_${i}`,
    type: seed.type ?? 'METADATA_MIGRATION',
    status: seed.status ?? 'RUNNING',
    instanceId: seed.instanceId ?? 'inst-1',
    ...(seed.minutes !== undefined && { startTime: NOW - seed.minutes * 60_000 }),
    ...(seed.createTime !== undefined && { createTime: seed.createTime }),
  }));
  const calls: ListJobsParams[] = [];
  const client: LakeFormationClient = {
    stopJob: async () => {
      throw new Error('the reaper never stops jobs itself');
    },
    getJob: async () => {
      throw new Error('not used');
    },
    listJobs: async (params) => {
      calls.push(params);
      const matching = jobs.filter(
        (job) =>
          job.instanceId === params.instanceId &&
          job.type === params.type &&
          (!params.status || job.status === params.status),
      );
      const offset = params.offset ?? 0;
      const limit = params.limit ?? 100;
      return {
        total: matching.length,
        jobs: matching.slice(offset, offset + limit).map(({ instanceId: _instance, ...job }) => job),
      };
    },
  };
  return Object.assign(client, { calls });
}

function sent() {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody ?? '{}'));
}

function run(
  seeds: Seed[],
  policy: unknown = {},
  instanceIds = ['inst-1'],
  sqs: SqsClientSource = new SQSClient({}),
) {
  const client = listingClient(seeds);
  const promise = runReaper({
    client,
    sqs,
    queueUrl: QUEUE,
    policy: parsePolicy(policy),
    instanceIds,
    now: NOW,
    deadline: Date.now() + 60_000,
    watches: memoryWatches(),
    publish: async () => ({ unpublished: [] }),
  });
  return { client, promise };
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('Function: runReaper()', () => {
  it('enqueues exactly the stale, not excluded jobs with a reason and the reaper as source', async () => {
    const { promise } = run(
      [
        { id: 'old', name: 'nightly_a', minutes: 301 },
        { id: 'young', name: 'nightly_b', minutes: 30 },
        { id: 'excluded', name: 'critical_x', minutes: 9999 },
        { id: 'long-rule', name: 'long_job', minutes: 500 },
        { id: 'other-type', type: 'METADATA_DISCOVERY', minutes: 250 },
      ],
      {
        exclude: [{ namePattern: 'critical_*' }],
        rules: [{ match: { namePattern: 'long_*' }, maxRunMinutes: 600 }],
      },
    );

    const summary = await promise;

    expect(sent()).toEqual([
      {
        jobId: 'old',
        instanceId: 'inst-1',
        reason: 'running 301 min > limit 240 min (default limit)',
        source: REAPER_SOURCE,
        runStartedAt: new Date(NOW - 301 * 60_000).toISOString(),
      },
      {
        jobId: 'other-type',
        instanceId: 'inst-1',
        reason: 'running 250 min > limit 240 min (default limit)',
        source: REAPER_SOURCE,
        runStartedAt: new Date(NOW - 250 * 60_000).toISOString(),
      },
    ]);
    expect(summary).toEqual({
      scanned: 5,
      stale: 2,
      excluded: 1,
      enqueued: 2,
      warned: 0,
      waiting: 0,
      snoozed: 0,
      unreachable: 0,
      dryRun: false,
      capped: false,
    });
  });

  it('names no run for a job judged by its create_time (it has no start_time to compare with)', async () => {
    const { promise } = run([{ id: 'never-started', createTime: NOW - 300 * 60_000 }], {});
    await promise;
    expect(sent()).toEqual([
      {
        jobId: 'never-started',
        instanceId: 'inst-1',
        reason: 'running 300 min > limit 240 min (default limit)',
        source: REAPER_SOURCE,
      },
    ]);
  });

  it('scans every type × status × instance', async () => {
    const { client, promise } = run([], { statuses: ['RUNNING', 'SUBMITTED'] }, ['inst-1', 'inst-2']);
    await promise;
    expect(client.calls).toHaveLength(3 * 2 * 2);
    expect(new Set(client.calls.map((c) => `${c.instanceId}:${c.type}:${c.status}`)).size).toBe(12);
  });

  it('reads at most 9 list slices at once, however many instances it scans', async () => {
    const client = listingClient([]);
    const list = client.listJobs;
    let inFlight = 0;
    let most = 0;
    client.listJobs = async (params, options) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return list(params, options);
    };
    const instanceIds = ['inst-1', 'inst-2', 'inst-3', 'inst-4'];

    await runReaper({
      client,
      sqs: new SQSClient({}),
      queueUrl: QUEUE,
      policy: parsePolicy({ statuses: ['RUNNING', 'SUBMITTED'] }),
      instanceIds,
      now: NOW,
      deadline: Date.now() + 60_000,
      watches: memoryWatches(),
      publish: async () => ({ unpublished: [] }),
    });

    expect(client.calls).toHaveLength(4 * 3 * 2);
    expect(most).toBe(9);
  });

  it('pages through more than 1000 jobs inside the API limits and counts the unreachable ones', async () => {
    const seeds = Array.from({ length: 2300 }, (_, i) => ({ id: `j${i}`, minutes: 10 }));
    const { client, promise } = run(seeds, { types: ['METADATA_MIGRATION'] });

    const summary = await promise;

    expect(client.calls.map((c) => [c.offset, c.limit])).toEqual([
      [0, 1000],
      [1000, 1000],
    ]);
    expect(summary).toMatchObject({ scanned: 2000, unreachable: 300 });
  });

  it('stops paging when the jobs read reach total, even on a full page', async () => {
    const seeds = Array.from({ length: 1000 }, (_, i) => ({ id: `j${i}`, minutes: 10 }));
    const { client, promise } = run(seeds, { types: ['METADATA_MIGRATION'] });

    const summary = await promise;

    expect(client.calls.map((c) => [c.offset, c.limit])).toEqual([[0, 1000]]);
    expect(summary).toMatchObject({ scanned: 1000, unreachable: 0 });
  });

  it('judges only jobs in the statuses asked for, whatever the list returns', async () => {
    const client = listingClient([
      { id: 'running', minutes: 500 },
      { id: 'finished', status: 'SUCCESS', minutes: 500 },
      { id: 'frozen', status: 'FROZEN_RELEASABLE', minutes: 500 },
    ]);
    const filtering = client.listJobs;
    // a list API that ignores its status filter
    client.listJobs = (params, options) => filtering({ ...params, status: undefined }, options);

    const summary = await runReaper({
      client,
      sqs: new SQSClient({}),
      queueUrl: QUEUE,
      policy: parsePolicy({ types: ['METADATA_MIGRATION'] }),
      instanceIds: ['inst-1'],
      now: NOW,
      deadline: Date.now() + 60_000,
      watches: memoryWatches(),
      publish: async () => ({ unpublished: [] }),
    });

    expect(sent().map((message) => message.jobId)).toEqual(['running']);
    expect(summary).toMatchObject({ scanned: 3, stale: 1, enqueued: 1 });
  });

  it('sends nothing when there are more candidates than maxStopsPerRun, logs an error and reports capped', async () => {
    const logs = captureLogs();
    const { promise } = run(
      Array.from({ length: 4 }, (_, i) => ({ id: `j${i}`, minutes: 1000 })),
      { maxStopsPerRun: 3 },
    );

    const summary = await promise;

    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(summary).toMatchObject({ stale: 4, enqueued: 0, capped: true });
    expect(
      logs.lines.some((line) => line.level === 'ERROR' && String(line.message).includes('maxStopsPerRun')),
    ).toBe(true);
  });

  it('sends exactly maxStopsPerRun candidates when that is how many there are', async () => {
    const { promise } = run(
      Array.from({ length: 3 }, (_, i) => ({ id: `j${i}`, minutes: 1000 })),
      { maxStopsPerRun: 3 },
    );
    expect(await promise).toMatchObject({ enqueued: 3, capped: false });
  });

  it('sends nothing on a dry run and logs the candidates', async () => {
    const logs = captureLogs();
    const { promise } = run([{ id: 'old', minutes: 1000 }], { dryRun: true });

    const summary = await promise;

    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(summary).toMatchObject({ stale: 1, enqueued: 0, dryRun: true });
    expect(logs.lines.find((line) => String(line.message).startsWith('dry run'))?.candidates).toEqual([
      expect.objectContaining({ jobId: 'old' }),
    ]);
  });

  it('builds its SQS client only for a run that sends', async () => {
    const makeClient = vi.fn(() => new SQSClient({}));
    const stale = [{ id: 'old', minutes: 1000 }];
    const tooMany = [
      { id: 'old-1', minutes: 1000 },
      { id: 'old-2', minutes: 1000 },
    ];

    await run([{ id: 'young', minutes: 5 }], {}, ['inst-1'], makeClient).promise;
    await run(stale, { dryRun: true }, ['inst-1'], makeClient).promise;
    await run(tooMany, { maxStopsPerRun: 1 }, ['inst-1'], makeClient).promise;
    const builtWithoutSending = makeClient.mock.calls.length;
    await run(stale, {}, ['inst-1'], makeClient).promise;

    expect(builtWithoutSending).toBe(0);
    expect(makeClient).toHaveBeenCalledTimes(1);
    expect(sent()).toEqual([expect.objectContaining({ jobId: 'old' })]);
  });

  it('sends in batches of 10', async () => {
    const { promise } = run(
      Array.from({ length: 23 }, (_, i) => ({ id: `j${i}`, minutes: 1000 })),
      { maxStopsPerRun: 100 },
    );
    await promise;
    expect(
      sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries?.length),
    ).toEqual([10, 10, 3]);
  });

  it('fails the run, after logging the summary, when entries cannot be enqueued', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [], Failed: [{ Id: '0', Code: 'KmsDenied', SenderFault: true }] });
    const logs = captureLogs();
    const { promise } = run([{ id: 'old', minutes: 1000 }]);

    await expect(promise).rejects.toBeInstanceOf(EnqueueError);
    expect(logs.lines.find((line) => line.message === 'reaper run')?.summary).toMatchObject({
      stale: 1,
      enqueued: 0,
    });
  });

  it('logs as enqueued only the stops that were sent', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [], Failed: [{ Id: '1', Code: 'KmsDenied', SenderFault: true }] });
    const logs = captureLogs();
    const { promise } = run([
      { id: 'sent', minutes: 1000 },
      { id: 'refused', minutes: 1000 },
    ]);

    await expect(promise).rejects.toBeInstanceOf(EnqueueError);
    const about = (message: string) =>
      logs.lines.filter((line) => line.message === message).map((line) => line.jobId);
    expect(about('stale job enqueued for stop')).toEqual(['sent']);
    expect(about('stop could not be enqueued')).toEqual(['refused']);
  });

  it.each([
    [
      'a run that enqueues',
      {},
      {
        JobsScanned: 3,
        StaleJobs: 2,
        StopsEnqueued: 2,
        JobsWarned: 0,
        JobsSnoozed: 0,
        ReaperCapped: 0,
        JobsUnreachable: 0,
      },
    ],
    [
      'a capped run',
      { maxStopsPerRun: 1 },
      {
        JobsScanned: 3,
        StaleJobs: 2,
        StopsEnqueued: 0,
        JobsWarned: 0,
        JobsSnoozed: 0,
        ReaperCapped: 1,
        JobsUnreachable: 0,
      },
    ],
  ])('publishes the run figures as EMF metrics for %s', async (_name, policy, expected) => {
    metrics.clearMetrics();
    const logs = captureLogs();
    const { promise } = run(
      [
        { id: 'a', minutes: 1000 },
        { id: 'b', minutes: 500 },
        { id: 'c', minutes: 5 },
      ],
      policy,
    );

    await promise;
    metrics.publishStoredMetrics();

    expect(emfTotals(logs.lines)).toEqual(expected);
  });

  it('logs jobs that have no time at all and does not stop them', async () => {
    const logs = captureLogs();
    const { promise } = run([{ id: 'timeless' }]);
    expect(await promise).toMatchObject({ scanned: 1, stale: 0 });
    expect(logs.lines.some((line) => line.jobId === 'timeless' && line.level === 'WARN')).toBe(true);
  });
});
