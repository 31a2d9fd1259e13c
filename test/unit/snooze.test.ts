import { describe, expect, it } from 'vitest';
import { snoozeRun } from '../../lib/domain/snooze/snooze.js';
import type { LakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import { LakeFormationHttpError } from '../../lib/upstream/lakeformation/errors.js';
import type { Job } from '../../lib/upstream/lakeformation/job.js';
import { memoryWatches } from '../support/fake-watches.js';

const NOW = Date.UTC(2026, 11, 2, 9, 0, 0);
const START = NOW - 200 * 60_000;
const REF = { instanceId: 'inst-1', jobId: 'job-1' };
const LIMITS = { maxSnoozes: 2, maxSnoozeMinutes: 240 };

function reading(job: Partial<Job> | Error): LakeFormationClient {
  return {
    stopJob: async () => {
      throw new Error('a snooze never stops a job');
    },
    getJob: async () => {
      if (job instanceof Error) throw job;
      return {
        id: 'job-1',
        name: 'quarterly_x',
        type: 'METADATA_MIGRATION',
        status: 'RUNNING',
        startTime: START,
        ...job,
      };
    },
    listJobs: async () => ({ total: 0, jobs: [] }),
  };
}

function deps(job: Partial<Job> | Error = {}, store = memoryWatches(), now = NOW) {
  return { client: reading(job), store, limits: LIMITS, now: () => now };
}

describe('Function: snoozeRun()', () => {
  it('snoozes the job’s current run for the minutes asked, and counts it', async () => {
    const store = memoryWatches();
    const result = await snoozeRun(deps({}, store), {
      ref: REF,
      minutes: 60,
      source: 'api',
      caller: 'bearer:0',
    });
    expect(result).toMatchObject({
      ok: true,
      run: { ...REF, runStartedAt: START },
      snoozedUntil: NOW + 60 * 60_000,
      stopAt: NOW + 60 * 60_000,
      snoozesLeft: 1,
    });
    const watch = await store.readWatch({ ...REF, runStartedAt: START }, NOW);
    expect(watch).toMatchObject({ snoozes: 1, snoozedUntil: NOW + 60 * 60_000 });
    expect(watch?.snoozeLog).toEqual([
      { at: NOW, minutes: 60, until: NOW + 60 * 60_000, source: 'api', caller: 'bearer:0' },
    ]);
  });

  it('refuses a run whose stop is under way, and records nothing', async () => {
    const store = memoryWatches();
    const asked: unknown[] = [];
    const result = await snoozeRun(
      {
        ...deps({}, store),
        stopUnderWay: async (run, now) => {
          asked.push({ run, now });
          return { stopId: 'stop-1', at: NOW - 60_000 };
        },
      },
      { ref: REF, minutes: 60, source: 'api' },
    );
    expect(result).toMatchObject({ ok: false, refusal: 'STOP_UNDER_WAY' });
    expect(result.ok ? '' : result.detail).toContain('stop-1');
    expect(asked).toEqual([{ run: { ...REF, runStartedAt: START }, now: NOW }]);
    expect(await store.readWatch({ ...REF, runStartedAt: START }, NOW)).toBeUndefined();
  });

  it('says a stop claimed while the snooze was written is under way, though the snooze is recorded', async () => {
    const store = memoryWatches();
    const answers = [undefined, { stopId: 'stop-2', at: NOW }];
    const result = await snoozeRun(
      { ...deps({}, store), stopUnderWay: async () => answers.shift() },
      { ref: REF, minutes: 60, source: 'api' },
    );
    expect(result).toMatchObject({ ok: false, refusal: 'STOP_UNDER_WAY' });
    expect(result.ok ? '' : result.detail).toContain('as this snooze was made');
    expect(answers).toEqual([]);
    expect(await store.readWatch({ ...REF, runStartedAt: START }, NOW)).toMatchObject({ snoozes: 1 });
  });

  it('waits for a pending claim found after the snooze was written to be let go, then confirms the snooze', async () => {
    const store = memoryWatches();
    let clock = NOW;
    const slept: number[] = [];
    // no stop before the write; after it, a claim pending for three reads, then let go
    const answers = [
      undefined,
      ...Array.from({ length: 3 }, () => ({ stopId: 'stop-3', at: NOW, pending: true })),
    ];
    const result = await snoozeRun(
      {
        ...deps({}, store),
        now: () => clock,
        sleep: async (ms: number) => {
          slept.push(ms);
          clock += ms;
        },
        stopUnderWay: async () => answers.shift(),
      },
      { ref: REF, minutes: 60, source: 'api' },
    );
    expect(result).toMatchObject({ ok: true, snoozedUntil: NOW + 60 * 60_000 });
    expect(slept).toEqual([150, 150, 150]);
  });

  it('says the stop is under way when its claim, pending, is accepted, or still pending after 2 s', async () => {
    for (const settle of ['accepted', 'still pending'] as const) {
      let clock = NOW;
      let reads = 0;
      const result = await snoozeRun(
        {
          ...deps({}, memoryWatches()),
          now: () => clock,
          sleep: async (ms: number) => {
            clock += ms;
          },
          stopUnderWay: async () => {
            reads++;
            if (reads === 1) return undefined;
            const pending = settle === 'still pending' || reads < 4;
            return { stopId: 'stop-4', at: NOW, pending };
          },
        },
        { ref: REF, minutes: 60, source: 'api' },
      );
      expect(result).toMatchObject({ ok: false, refusal: 'STOP_UNDER_WAY' });
      // the read before the write, then: accepted at the third read after it; or read until 2 s are over
      expect(reads).toBe(settle === 'accepted' ? 4 : 1 + 1 + Math.ceil(2_000 / 150));
      expect(clock - NOW).toBeLessThanOrEqual(settle === 'accepted' ? 300 : 2_100);
    }
  });

  it('stops at the later of the warning’s stop time and the snooze', async () => {
    const store = memoryWatches();
    const run = { ...REF, runStartedAt: START };
    const stopAt = NOW + 90 * 60_000;
    await store.recordWarning(
      run,
      {
        warnedAt: NOW,
        stopAt,
        limitMinutes: 240,
        warnMinutes: 30,
        runningMinutes: 200,
        name: 'q',
        type: 'T',
      },
      NOW,
    );
    expect(await snoozeRun(deps({}, store), { ref: REF, minutes: 30, source: 'api' })).toMatchObject({
      ok: true,
      snoozedUntil: NOW + 30 * 60_000,
      stopAt,
    });
  });

  it('never shortens a snooze already given', async () => {
    const store = memoryWatches();
    await snoozeRun(deps({}, store), { ref: REF, minutes: 120, source: 'api' });
    expect(
      await snoozeRun(deps({}, store, NOW + 60_000), { ref: REF, minutes: 10, source: 'api' }),
    ).toMatchObject({
      ok: true,
      snoozedUntil: NOW + 120 * 60_000,
    });
  });

  it('refuses more than maxSnoozes per run, and starts afresh on the next run', async () => {
    const store = memoryWatches();
    for (let i = 0; i < LIMITS.maxSnoozes; i++) {
      expect(await snoozeRun(deps({}, store), { ref: REF, minutes: 10, source: 'api' })).toMatchObject({
        ok: true,
      });
    }
    expect(await snoozeRun(deps({}, store), { ref: REF, minutes: 10, source: 'api' })).toMatchObject({
      ok: false,
      refusal: 'SNOOZE_LIMIT',
    });
    const nextRun = NOW - 5 * 60_000;
    expect(
      await snoozeRun(deps({ startTime: nextRun }, store), { ref: REF, minutes: 10, source: 'api' }),
    ).toMatchObject({ ok: true, run: { runStartedAt: nextRun }, snoozesLeft: 1 });
  });

  it.each([
    ['ended', { status: 'SUCCESS' }, 'JOB_NOT_RUNNING', /is SUCCESS/],
    ['stopped', { status: 'STOPPED' }, 'JOB_NOT_RUNNING', /is STOPPED/],
    [
      'without a start time',
      { startTime: undefined, createTime: undefined },
      'JOB_NOT_RUNNING',
      /no start time/,
    ],
  ])('refuses a job that is %s', async (_name, job, refusal, detail) => {
    const store = memoryWatches();
    const result = await snoozeRun(deps(job, store), { ref: REF, minutes: 10, source: 'api' });
    expect(result).toMatchObject({ ok: false, refusal, detail: expect.stringMatching(detail) });
    expect(store.items.size).toBe(0);
  });

  it('refuses a run that has ended, naming the one the job is on', async () => {
    const result = await snoozeRun(deps({}), {
      ref: REF,
      runStartedAt: START - 3600_000,
      minutes: 10,
      source: 'api',
    });
    expect(result).toMatchObject({ ok: false, refusal: 'JOB_NOT_RUNNING' });
    expect(!result.ok && result.detail).toContain(new Date(START).toISOString());
    // a start time read with a second's precision is the same run
    expect(
      await snoozeRun(deps({}), { ref: REF, runStartedAt: START + 400, minutes: 10, source: 'api' }),
    ).toMatchObject({ ok: true });
  });

  it('refuses a job LakeFormation does not have, and throws its retryable failures', async () => {
    const missing = new LakeFormationHttpError('getJob', 404, { errorCode: 'common.01000001' });
    expect(await snoozeRun(deps(missing), { ref: REF, minutes: 10, source: 'api' })).toMatchObject({
      ok: false,
      refusal: 'JOB_NOT_FOUND',
    });
    const down = new LakeFormationHttpError('getJob', 503, {});
    await expect(snoozeRun(deps(down), { ref: REF, minutes: 10, source: 'api' })).rejects.toBe(down);
  });

  it('uses a link once', async () => {
    const store = memoryWatches();
    const request = { ref: REF, runStartedAt: START, minutes: 60, source: 'link' as const, linkId: 'hash-1' };
    expect(await snoozeRun(deps({}, store), request)).toMatchObject({ ok: true });
    expect(await snoozeRun(deps({}, store), request)).toMatchObject({ ok: false, refusal: 'LINK_USED' });
    expect((await store.readWatch({ ...REF, runStartedAt: START }, NOW))?.snoozes).toBe(1);
  });

  it('tries again when another snooze changed the run meanwhile, and keeps both', async () => {
    const store = memoryWatches();
    const record = store.recordSnooze;
    let raced = false;
    store.recordSnooze = async (run, change, now) => {
      if (!raced) {
        raced = true;
        await record(run, { ...change, entry: { ...change.entry, source: 'api', reason: 'the other' } }, now);
        return 'conflict';
      }
      return record(run, change, now);
    };
    expect(await snoozeRun(deps({}, store), { ref: REF, minutes: 30, source: 'api' })).toMatchObject({
      ok: true,
      snoozesLeft: 0,
    });
    expect((await store.readWatch({ ...REF, runStartedAt: START }, NOW))?.snoozes).toBe(2);
  });
});
