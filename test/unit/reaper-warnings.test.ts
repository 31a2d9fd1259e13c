import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../lib/domain/reaper/policy.js';
import { LINK_VALID_AFTER_STOP_MS, runReaper } from '../../lib/domain/reaper/reaper.js';
import type { RunWatch } from '../../lib/domain/run-watch.js';
import { snoozeRun } from '../../lib/domain/snooze/snooze.js';
import type { LakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import type { Job } from '../../lib/upstream/lakeformation/job.js';
import { memoryWatches } from '../support/fake-watches.js';

const START = Date.UTC(2026, 10, 28, 8, 0, 0);
const MIN = 60_000;
const sqsMock = mockClient(SQSClient);

function client(jobs: Job[]): LakeFormationClient {
  return {
    stopJob: async () => {
      throw new Error('the reaper never stops jobs itself');
    },
    getJob: async () => {
      throw new Error('not used');
    },
    listJobs: async (params) => {
      const matching = jobs.filter((job) => job.type === params.type && job.status === params.status);
      return { total: matching.length, jobs: matching };
    },
  };
}

const job = (id: string, startTime = START, name = `job_${id}`): Job => ({
  id,
  name,
  type: 'METADATA_MIGRATION',
  status: 'RUNNING',
  startTime,
});

function sentIds(): string[] {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody ?? '{}').jobId);
}

/** A reaper with one store across its runs, as the ledger is across scheduled runs. */
function reaper(policy: unknown, jobs: Job[], initial: RunWatch[] = []) {
  const watches = memoryWatches(initial);
  const published: { type: string; detail: Record<string, unknown> }[] = [];
  /** The jobs whose Job Warned event the bus fails. */
  const unpublishable = new Set<string>();
  const links: unknown[] = [];
  const runAt = (now: number, options: { link?: boolean; policy?: unknown } = {}) =>
    runReaper({
      client: client(jobs),
      sqs: new SQSClient({}),
      queueUrl: 'http://127.0.0.1:1/123456789012/stop',
      policy: parsePolicy(options.policy ?? policy),
      instanceIds: ['inst-1'],
      now,
      deadline: Date.now() + 60_000,
      watches,
      publish: async (events) => {
        const unpublished = events.flatMap((event, index) =>
          unpublishable.has(String(event.detail.jobId)) ? [index] : [],
        );
        published.push(...events.filter((_, index) => !unpublished.includes(index)));
        return { unpublished };
      },
      ...(options.link !== false && {
        snoozeLink: (link) => {
          links.push(link);
          return `https://stopper.example/snooze?t=${link.jobId}`;
        },
      }),
    });
  return { watches, published, unpublishable, links, runAt };
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('Reaper warnings (warnMinutes)', () => {
  it('warns a job once per run when it nears its limit, and stops it no sooner than warnMinutes later', async () => {
    const r = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [job('a')]);

    expect(await r.runAt(START + 200 * MIN)).toMatchObject({ warned: 0, enqueued: 0, stale: 0 });
    const first = await r.runAt(START + 215 * MIN);
    expect(first).toMatchObject({ warned: 1, enqueued: 0, waiting: 0 });
    expect(r.published).toEqual([
      {
        type: 'Job Warned',
        detail: expect.objectContaining({
          jobId: 'a',
          instanceId: 'inst-1',
          runStartedAt: new Date(START).toISOString(),
          name: 'job_a',
          type: 'METADATA_MIGRATION',
          runningMinutes: 215,
          limitMinutes: 240,
          warnMinutes: 30,
          // the later of start + limit (240) and the warning + lead (215 + 30)
          stopAt: new Date(START + 245 * MIN).toISOString(),
          snoozeUrl: 'https://stopper.example/snooze?t=a',
          source: 'stale-job-reaper',
        }),
      },
    ]);
    // later runs before the stop time: no second warning, no stop
    expect(await r.runAt(START + 230 * MIN)).toMatchObject({ warned: 0, enqueued: 0, waiting: 1 });
    expect(await r.runAt(START + 240 * MIN)).toMatchObject({ warned: 0, enqueued: 0, waiting: 1, stale: 0 });
    expect(await r.runAt(START + 245 * MIN)).toMatchObject({ warned: 0, enqueued: 0, waiting: 1, stale: 1 });
    expect(r.published).toHaveLength(1);
    expect(sentIds()).toEqual([]);
    // the first run after the stop time stops it, naming its warning
    expect(await r.runAt(START + 246 * MIN)).toMatchObject({ warned: 0, enqueued: 1, waiting: 0 });
    expect(sentIds()).toEqual(['a']);
    const reason = JSON.parse(
      sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries?.[0]?.MessageBody ?? '{}',
    ).reason;
    expect(reason).toBe(
      `running 246 min > limit 240 min (default limit); warned at ${new Date(START + 215 * MIN).toISOString()}`,
    );
  });

  it('gives a job first seen far past its limit the whole lead: no stop less than warnMinutes after the warning', async () => {
    const r = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [job('late')]);
    const seen = START + 1000 * MIN;

    expect(await r.runAt(seen)).toMatchObject({ stale: 1, warned: 1, enqueued: 0 });
    expect(r.published[0]?.detail.stopAt).toBe(new Date(seen + 30 * MIN).toISOString());
    expect(await r.runAt(seen + 15 * MIN)).toMatchObject({ enqueued: 0, waiting: 1 });
    expect(await r.runAt(seen + 30 * MIN)).toMatchObject({ enqueued: 0, waiting: 1 });
    expect(sentIds()).toEqual([]);
    expect(await r.runAt(seen + 30 * MIN + 1)).toMatchObject({ enqueued: 1 });
    expect(sentIds()).toEqual(['late']);
  });

  it('leaves a snoozed job alone until its snooze ends, then stops it', async () => {
    const r = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [job('a')]);
    await r.runAt(START + 215 * MIN);
    const run = { instanceId: 'inst-1', jobId: 'a', runStartedAt: START };
    const until = START + 400 * MIN;
    await r.watches.recordSnooze(
      run,
      {
        expectedSnoozes: 0,
        snoozedUntil: until,
        entry: { at: START + 220 * MIN, minutes: 180, until, source: 'api' },
      },
      START + 220 * MIN,
    );

    expect(await r.runAt(START + 241 * MIN)).toMatchObject({ enqueued: 0, waiting: 1, snoozed: 1, stale: 1 });
    expect(await r.runAt(START + 400 * MIN)).toMatchObject({ enqueued: 0, snoozed: 1 });
    expect(sentIds()).toEqual([]);
    expect(await r.runAt(START + 401 * MIN)).toMatchObject({ enqueued: 1, snoozed: 0 });
    expect(sentIds()).toEqual(['a']);
  });

  it('finds a snooze made from a read of the job that writes its start with another precision', async () => {
    // the list answer has milliseconds, the job's own answer (read by the snooze) whole seconds
    const listed = job('a', START + 743);
    const r = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [listed]);
    await r.runAt(START + 215 * MIN);
    const read: LakeFormationClient = {
      ...client([]),
      getJob: async () => ({ ...listed, startTime: START }),
    };
    const snoozed = await snoozeRun(
      {
        client: read,
        store: r.watches,
        limits: { maxSnoozes: 3, maxSnoozeMinutes: 240 },
        now: () => START + 216 * MIN,
      },
      { ref: { instanceId: 'inst-1', jobId: 'a' }, minutes: 240, source: 'api' },
    );
    expect(snoozed).toMatchObject({ ok: true });
    expect(await r.runAt(START + 300 * MIN)).toMatchObject({ enqueued: 0, snoozed: 1 });
  });

  it('holds a snooze for its run only: the next run of the job is warned and stopped afresh', async () => {
    const nextRun = START + 500 * MIN;
    const snoozed: RunWatch = {
      instanceId: 'inst-1',
      jobId: 'a',
      runStartedAt: START,
      snoozedUntil: nextRun + 10_000 * MIN,
      snoozes: 1,
      snoozeLog: [],
      usedLinks: [],
      updatedAt: START,
    };
    const withLead = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [job('a', nextRun)], [snoozed]);
    expect(await withLead.runAt(nextRun + 215 * MIN)).toMatchObject({ warned: 1, snoozed: 0 });
    expect(await withLead.runAt(nextRun + 246 * MIN)).toMatchObject({ enqueued: 1, snoozed: 0 });

    sqsMock.resetHistory();
    const noLead = reaper({ maxRunMinutes: 240 }, [job('a', nextRun)], [snoozed]);
    expect(await noLead.runAt(nextRun + 241 * MIN)).toMatchObject({ enqueued: 1, snoozed: 0 });
    expect(sentIds()).toEqual(['a']);
  });

  it('honours a snooze without a warning lead too (warnMinutes 0 stops at the limit, unless snoozed)', async () => {
    const until = START + 300 * MIN;
    const r = reaper(
      { maxRunMinutes: 240 },
      [job('a'), job('b')],
      [
        {
          instanceId: 'inst-1',
          jobId: 'a',
          runStartedAt: START,
          snoozedUntil: until,
          snoozes: 1,
          snoozeLog: [],
          usedLinks: [],
          updatedAt: START,
        },
      ],
    );

    expect(await r.runAt(START + 241 * MIN)).toMatchObject({ warned: 0, enqueued: 1, snoozed: 1 });
    expect(sentIds()).toEqual(['b']);
    expect(r.published).toEqual([]);
    expect(await r.runAt(START + 301 * MIN)).toMatchObject({ enqueued: 2, snoozed: 0 });
  });

  it('takes a rule’s own warnMinutes over the policy’s', async () => {
    const r = reaper(
      {
        maxRunMinutes: 240,
        warnMinutes: 10,
        rules: [{ match: { namePattern: 'nightly_*' }, maxRunMinutes: 300, warnMinutes: 60 }],
      },
      [job('n', START, 'nightly_x'), job('d')],
    );

    expect(await r.runAt(START + 241 * MIN)).toMatchObject({ warned: 2 });
    const stopAt = Object.fromEntries(r.published.map((event) => [event.detail.jobId, event.detail.stopAt]));
    expect(stopAt).toEqual({
      // start + 300 is earlier than the warning + 60
      n: new Date(START + 301 * MIN).toISOString(),
      d: new Date(START + 251 * MIN).toISOString(),
    });
  });

  it('signs each link for maxSnoozeMinutes, valid until an hour after the stop time; no link without a signer', async () => {
    const r = reaper({ maxRunMinutes: 240, warnMinutes: 30, maxSnoozeMinutes: 90 }, [job('a')]);
    await r.runAt(START + 215 * MIN);
    expect(r.links).toEqual([
      {
        instanceId: 'inst-1',
        jobId: 'a',
        runStartedAt: START,
        minutes: 90,
        expiresAt: START + 245 * MIN + LINK_VALID_AFTER_STOP_MS,
      },
    ]);
    expect(r.published[0]?.detail).toMatchObject({ snoozeMinutes: 90 });

    const bare = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [job('a')]);
    await bare.runAt(START + 215 * MIN, { link: false });
    expect(bare.published[0]?.detail).not.toHaveProperty('snoozeUrl');
    expect(bare.published[0]?.detail).toMatchObject({ stopAt: new Date(START + 245 * MIN).toISOString() });
  });

  it('moves a warned job’s stop later, never earlier, when the policy changes after the warning', async () => {
    const r = reaper({ maxRunMinutes: 60, warnMinutes: 10 }, [job('a')]);
    await r.runAt(START + 55 * MIN); // warned: stop at 65
    // the same ledger, a changed policy
    const raised = (policy: unknown, now: number) => r.runAt(now, { policy });
    // the limit raised to 120: past the warning's stop time, but not stale under the policy now
    expect(await raised({ maxRunMinutes: 120, warnMinutes: 10 }, START + 115 * MIN)).toMatchObject({
      enqueued: 0,
      waiting: 1,
      stale: 0,
    });
    // the lead raised to 90: no stop sooner than 90 min after the warning (at 55)
    expect(await raised({ maxRunMinutes: 60, warnMinutes: 90 }, START + 140 * MIN)).toMatchObject({
      enqueued: 0,
      waiting: 1,
    });
    expect(await raised({ maxRunMinutes: 60, warnMinutes: 90 }, START + 146 * MIN)).toMatchObject({
      enqueued: 1,
    });
    expect(sentIds()).toEqual(['a']);
  });

  it('publishes every warning it recorded even when another could not be recorded, then fails the run', async () => {
    const r = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [job('a'), job('b'), job('c')]);
    const record = r.watches.recordWarning;
    r.watches.recordWarning = async (run, ...rest) => {
      if (run.jobId === 'b') throw new Error('ledger down');
      return record(run, ...rest);
    };
    await expect(r.runAt(START + 215 * MIN)).rejects.toThrow('ledger down');
    expect(r.published.map((event) => event.detail.jobId).sort()).toEqual(['a', 'c']);
    expect([...r.watches.items.values()].map((watch) => watch.jobId).sort()).toEqual(['a', 'c']);
  });

  it('withdraws a warning whose event could not be published, warns again next run, and gives the lead from that warning', async () => {
    const r = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [job('a'), job('b')]);
    r.unpublishable.add('b');
    const first = START + 215 * MIN;
    expect(await r.runAt(first)).toMatchObject({ warned: 1, enqueued: 0 });
    expect(r.published.map((event) => event.detail.jobId)).toEqual(['a']);
    // b's owner was never told: nothing of b's warning is kept
    const kept = Object.fromEntries(
      [...r.watches.items.values()].map((watch) => [watch.jobId, watch.warning]),
    );
    expect(kept.a).toMatchObject({ warnedAt: first });
    expect(kept.b).toBeUndefined();

    // the bus is back: b is warned at the next run, and its lead starts then
    r.unpublishable.clear();
    const second = first + 10 * MIN;
    expect(await r.runAt(second)).toMatchObject({ warned: 1, enqueued: 0 });
    expect(r.published.map((event) => event.detail.jobId)).toEqual(['a', 'b']);
    expect(r.published[1]?.detail.stopAt).toBe(new Date(START + 255 * MIN).toISOString());
    // at a's stop time, a is stopped and b waits for its own
    expect(await r.runAt(START + 246 * MIN)).toMatchObject({ enqueued: 1, waiting: 1 });
    expect(sentIds()).toEqual(['a']);
  });

  it('fails the run when a warning whose event could not be published cannot be withdrawn either', async () => {
    const r = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [job('a')]);
    r.unpublishable.add('a');
    r.watches.withdrawWarning = async () => {
      throw new Error('ledger down');
    };
    await expect(r.runAt(START + 215 * MIN)).rejects.toThrow('ledger down');
  });

  it('sends no second warning when another run recorded the warning first', async () => {
    const r = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [job('a')]);
    const record = r.watches.recordWarning;
    r.watches.recordWarning = async (...args) => {
      await record(...args);
      return false;
    };
    expect(await r.runAt(START + 215 * MIN)).toMatchObject({ warned: 0 });
    expect(r.published).toEqual([]);
  });

  it('warns and stops nothing in a dry run, and nothing when the warnings would exceed maxStopsPerRun', async () => {
    const dry = reaper({ maxRunMinutes: 240, warnMinutes: 30, dryRun: true }, [job('a')]);
    expect(await dry.runAt(START + 215 * MIN)).toMatchObject({ warned: 0, dryRun: true });
    expect(dry.watches.items.size).toBe(0);

    const capped = reaper({ maxRunMinutes: 240, warnMinutes: 30, maxStopsPerRun: 1 }, [job('a'), job('b')]);
    expect(await capped.runAt(START + 215 * MIN)).toMatchObject({ warned: 0, capped: true });
    expect(capped.published).toEqual([]);
    expect(capped.watches.items.size).toBe(0);
  });

  it('fails the run, stopping nothing, when the ledger cannot be read', async () => {
    const r = reaper({ maxRunMinutes: 240 }, [job('a')]);
    r.watches.readWatches = async () => {
      throw new Error('ledger down');
    };
    await expect(r.runAt(START + 300 * MIN)).rejects.toThrow('ledger down');
    expect(sentIds()).toEqual([]);
  });

  it('does not read the ledger when no job is near its limit', async () => {
    const r = reaper({ maxRunMinutes: 240, warnMinutes: 30 }, [job('a')]);
    await r.runAt(START + 100 * MIN);
    expect(r.watches.reads).toEqual([]);
  });
});
