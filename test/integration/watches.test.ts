import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createWatchTable } from '../../lib/domain/ledger/watches.js';
import type { RunRef, RunWatchStore, SnoozeChange, Warning } from '../../lib/domain/run-watch.js';
import { runKey } from '../../lib/domain/run-watch.js';
import { createTestLedger, useMoto } from '../support/aws.js';

const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const NOW = Date.now();
let store: RunWatchStore;
let tableName: string;
let jobs = 0;
const run = (runStartedAt = NOW - 3600_000): RunRef => ({
  instanceId: INSTANCE,
  jobId: `watch-job-${NOW.toString(36)}-${++jobs}`,
  runStartedAt,
});
const warning = (stopAt: number): Warning => ({
  warnedAt: NOW,
  stopAt,
  limitMinutes: 240,
  warnMinutes: 30,
  runningMinutes: 215,
  name: 'quarterly_<b>&"x"',
  type: 'METADATA_MIGRATION',
});
const snooze = (expectedSnoozes: number, until: number, linkId?: string): SnoozeChange => ({
  expectedSnoozes,
  snoozedUntil: until,
  entry: { at: NOW, minutes: 60, until, source: linkId ? 'link' : 'api' },
  ...(linkId !== undefined && { linkId }),
});

beforeAll(async () => {
  useMoto();
  tableName = await createTestLedger('watches');
  store = createWatchTable({ tableName, retentionDays: 90, client: new DynamoDBClient({}) });
});

describe('run watches on the ledger table (moto DynamoDB)', () => {
  it('records one warning per run: a later attempt is refused and changes nothing', async () => {
    // (the reaper's runs never overlap: reservedConcurrency 1; moto would not isolate them anyway)
    const r = run();
    const results: boolean[] = [];
    for (let i = 0; i < 3; i++) results.push(await store.recordWarning(r, warning(NOW + i * 60_000), NOW));
    expect(results).toEqual([true, false, false]);
    const watch = await store.readWatch(r, NOW);
    expect(watch).toMatchObject({ ...r, snoozes: 0, snoozeLog: [], usedLinks: [] });
    expect(watch?.warning).toEqual(warning(NOW));
  });

  it('withdraws only the warning given at the time named, keeps the snoozes, and lets a new warning be recorded', async () => {
    const r = run();
    expect(await store.withdrawWarning(r, NOW, NOW)).toBe(false);
    expect(await store.readWatch(r, NOW)).toBeUndefined();
    await store.recordSnooze(r, snooze(0, NOW + 60_000), NOW);
    await store.recordWarning(r, warning(NOW + 30 * 60_000), NOW);
    // another warning's time: another reaper run's, which its owner was told of
    expect(await store.withdrawWarning(r, NOW - 1, NOW)).toBe(false);
    expect((await store.readWatch(r, NOW))?.warning).toBeDefined();

    expect(await store.withdrawWarning(r, NOW, NOW + 1_000)).toBe(true);
    const watch = await store.readWatch(r, NOW + 1_000);
    expect(watch).toMatchObject({ snoozes: 1, snoozedUntil: NOW + 60_000, updatedAt: NOW + 1_000 });
    expect(watch).not.toHaveProperty('warning');
    expect(await store.recordWarning(r, warning(NOW + 40 * 60_000), NOW + 2_000)).toBe(true);
  });

  it('counts snoozes: a change made against a count another snooze moved on is refused', async () => {
    const r = run();
    expect(await store.recordSnooze(r, snooze(0, NOW + 60_000), NOW)).toBe('recorded');
    expect(await store.recordSnooze(r, snooze(0, NOW + 120_000), NOW)).toBe('conflict');
    expect(await store.recordSnooze(r, snooze(1, NOW + 120_000), NOW)).toBe('recorded');
    const watch = await store.readWatch(r, NOW);
    expect(watch).toMatchObject({ snoozes: 2, snoozedUntil: NOW + 120_000 });
    expect(watch?.snoozeLog.map((entry) => entry.until)).toEqual([NOW + 60_000, NOW + 120_000]);
    // a snooze before any warning keeps the run unwarned; the warning that follows keeps the snoozes
    expect(await store.recordWarning(r, warning(NOW + 30 * 60_000), NOW)).toBe(true);
    expect(await store.readWatch(r, NOW)).toMatchObject({
      snoozes: 2,
      warning: { stopAt: NOW + 30 * 60_000 },
    });
  });

  it('uses a link once: a second use is refused whatever count it is made against', async () => {
    // Two clicks at the same instant are decided by the one conditional update on DynamoDB, which
    // applies conditional writes of an item one at a time; moto does not isolate concurrent updates
    // of one item, so here the clicks come one after the other.
    const r = run();
    expect(await store.recordSnooze(r, snooze(0, NOW + 60_000, 'link-a'), NOW)).toBe('recorded');
    expect(await store.recordSnooze(r, snooze(0, NOW + 60_000, 'link-a'), NOW)).toBe('link-used');
    expect(await store.recordSnooze(r, snooze(1, NOW + 60_000, 'link-a'), NOW)).toBe('link-used');
    expect(await store.recordSnooze(r, snooze(1, NOW + 90_000, 'link-b'), NOW)).toBe('recorded');
    const watch = await store.readWatch(r, NOW);
    expect(watch?.usedLinks.sort()).toEqual(['link-a', 'link-b']);
    expect(watch?.snoozes).toBe(2);
  });

  it('reads many runs in batches of 100, and only the ones watched', async () => {
    const runs = Array.from({ length: 230 }, () => run());
    const watched = runs.filter((_, i) => i % 7 === 0);
    for (const r of watched) await store.recordWarning(r, warning(NOW + 60_000), NOW);
    const found = await store.readWatches([...runs, ...runs.slice(0, 3)], NOW);
    expect([...found.keys()].sort()).toEqual(watched.map(runKey).sort());
  });

  it('keeps a job’s runs apart, and lists them newest run first', async () => {
    const first = run(NOW - 5 * 3600_000);
    const second = { ...first, runStartedAt: NOW - 3600_000 };
    await store.recordSnooze(first, snooze(0, NOW + 60_000), NOW);
    expect(await store.readWatch(second, NOW)).toBeUndefined();
    await store.recordWarning(second, warning(NOW + 60_000), NOW);
    const listed = await store.listWatches(first, 20, NOW);
    expect(listed.map((watch) => watch.runStartedAt)).toEqual([second.runStartedAt, first.runStartedAt]);
    expect(await store.listWatches({ instanceId: INSTANCE, jobId: 'no-such-job' }, 20, NOW)).toEqual([]);
  });

  it('treats a run past its expiresAt as gone, though TTL has not deleted it', async () => {
    const r = run();
    await store.recordWarning(r, warning(NOW + 60_000), NOW);
    await store.recordSnooze(r, snooze(0, NOW + 60_000), NOW);
    // as if the item had not changed for longer than the retention
    await new DynamoDBClient({}).send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: {
          pk: { S: `WATCH#${r.instanceId}#${r.jobId}` },
          sk: { S: `RUN#${String(r.runStartedAt).padStart(15, '0')}` },
        },
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': { N: String(Math.floor(NOW / 1000) - 10) } },
      }),
    );
    expect(await store.readWatch(r, NOW)).toBeUndefined();
    expect((await store.readWatches([r], NOW)).size).toBe(0);
    expect(await store.listWatches(r, 20, NOW)).toEqual([]);
    // and a new warning may be recorded over it
    expect(await store.recordWarning(r, warning(NOW + 120_000), NOW)).toBe(true);
  });

  it('reports DynamoDB failures as the ledger being unavailable', async () => {
    const broken = createWatchTable({
      tableName: 'no-such-table',
      retentionDays: 90,
      client: new DynamoDBClient({}),
    });
    await expect(broken.readWatches([run()], NOW)).rejects.toThrow(
      'the stop ledger is unavailable (readWatches',
    );
    await expect(broken.recordWarning(run(), warning(NOW), NOW)).rejects.toThrow('(recordWarning');
  });
});
