import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLedgerTable, type LedgerTable } from '../../lib/domain/ledger/table.js';
import { createWatchTable } from '../../lib/domain/ledger/watches.js';
import type { RunRef, RunWatchStore } from '../../lib/domain/run-watch.js';
import { claimedStopOf, type SnoozeResult, snoozeRun } from '../../lib/domain/snooze/snooze.js';
import { processStopBatch } from '../../lib/edge/queue/stop-batch.js';
import { createTestLedger, useMoto } from '../support/aws.js';
import { fakeClient } from '../support/fake-client.js';

/**
 * A snooze made while the queue is stopping the same run, in each order the two can meet: the
 * queue function's stop (processStopBatch, with the ledger) and the snooze (snoozeRun, reading the
 * ledger's claim as the snooze function does) on one ledger table on moto. Whatever the order, the
 * snooze's answer is the truth: a snooze answered as made holds the stop back, and a stop that is
 * made is answered STOP_UNDER_WAY.
 */

const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
/** The run's start, with milliseconds: the reaper names it so, the snoozes to the second. */
const RUN = Date.UTC(2026, 11, 2, 6, 0, 0) + 743;
let ledger: LedgerTable;
let watches: RunWatchStore;
let jobs = 0;

beforeAll(async () => {
  useMoto();
  const tableName = await createTestLedger('snooze-race');
  const client = new DynamoDBClient({});
  ledger = createLedgerTable({ tableName, retentionDays: 90, client });
  watches = createWatchTable({ tableName, retentionDays: 90, client });
});

const template = (
  JSON.parse(readFileSync(new URL('../../events/sqs-stop-batch.json', import.meta.url), 'utf8')) as {
    Records: SQSRecord[];
  }
).Records[0] as SQSRecord;

/** A job of its own, and the reaper's stop message of its run. */
function setUp(stopMs = 0) {
  const jobId = `race-job-${Date.now().toString(36)}-${++jobs}`;
  const client = fakeClient({
    jobs: { [jobId]: { status: 'RUNNING', startTime: RUN } },
    stop: () => new Promise((resolve) => setTimeout(() => resolve('accept'), stopMs)),
  });
  const record: SQSRecord = {
    ...template,
    messageId: `m-${jobId}`,
    body: JSON.stringify({
      jobId,
      source: 'stale-job-reaper',
      reason: 'running 250 min > limit 240 min (default limit)',
      runStartedAt: new Date(RUN).toISOString(),
    }),
  };
  const ref = { instanceId: INSTANCE, jobId };
  return { jobId, ref, client, record };
}

function stopBatch(
  record: SQSRecord,
  client: ReturnType<typeof fakeClient>,
  options: { ledger?: LedgerTable; watches?: RunWatchStore } = {},
) {
  return processStopBatch([record], {
    client,
    ledger: options.ledger ?? ledger,
    watches: options.watches ?? watches,
    sqs: new SQSClient({}),
    dlqUrl: 'http://127.0.0.1:1/123456789012/dlq',
    defaultInstanceId: INSTANCE,
    allowedInstanceIds: new Set([INSTANCE]),
    concurrency: 10,
    deadline: Date.now() + 30_000,
  });
}

function snooze(
  ref: { instanceId: string; jobId: string },
  store: RunWatchStore = watches,
  claims: Pick<LedgerTable, 'readClaim'> = ledger,
) {
  return snoozeRun(
    {
      client: fakeClient({ jobs: { [ref.jobId]: { status: 'RUNNING', startTime: RUN } } }),
      store,
      limits: { maxSnoozes: 3, maxSnoozeMinutes: 1440 },
      stopUnderWay: claimedStopOf(claims),
    },
    { ref, minutes: 60, source: 'api' },
  );
}

/** A promise opened from outside: a step of one side waits for a step of the other. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const stopCalls = (client: ReturnType<typeof fakeClient>) =>
  client.calls.filter((call) => call.op === 'stopJob').length;

async function snoozedUntil(ref: { instanceId: string; jobId: string }): Promise<number | undefined> {
  const run: RunRef = { ...ref, runStartedAt: Math.floor(RUN / 1000) * 1000 };
  return (await watches.readWatch(run, Date.now()))?.snoozedUntil;
}

describe('a snooze and the queue’s stop of the same run, at once (moto DynamoDB)', () => {
  it('holds the stop back when the snooze is written after the batch read the snoozes, before the claim', async () => {
    const { ref, client, record } = setUp();
    let answer: SnoozeResult | undefined;
    // the snooze is made just after the batch's read of the run's snoozes found none
    const racing: RunWatchStore = {
      ...watches,
      async readWatches(runs, now) {
        const found = await watches.readWatches(runs, now);
        if (answer === undefined) answer = await snooze(ref);
        return found;
      },
    };
    const { reports } = await stopBatch(record, client, { watches: racing });

    expect(answer).toMatchObject({ ok: true });
    const until = await snoozedUntil(ref);
    expect(reports[0]).toMatchObject({
      disposition: 'acknowledged',
      detail: `not stopped: the run was snoozed until ${new Date(until ?? 0).toISOString()} after the reaper queued its stop`,
    });
    expect(reports[0]).not.toHaveProperty('outcome');
    expect(stopCalls(client)).toBe(0);
    // the claim is let go: nothing holds the run, and a later stop of it can be made
    expect(await ledger.readClaim(ref, Date.now())).toBeUndefined();
  });

  it('holds the stop back when the snooze is written once the run is claimed, and the snooze waits to say it is made', async () => {
    const { ref, client, record } = setUp();
    // the snooze finds no stop, the run is claimed, then the snooze is written: before the claimant
    // reads the snoozes, while its claim is still pending
    const checked = gate();
    const claimed = gate();
    const claims: Pick<LedgerTable, 'readClaim'> = {
      async readClaim(...args) {
        const claim = await ledger.readClaim(...args);
        checked.open();
        return claim;
      },
    };
    const delayed: RunWatchStore = {
      ...watches,
      async recordSnooze(...args) {
        await claimed.opened;
        return watches.recordSnooze(...args);
      },
    };
    const racing: LedgerTable = {
      ...ledger,
      async claimStop(...args) {
        const attempt = await ledger.claimStop(...args);
        claimed.open();
        await expect.poll(() => snoozedUntil(ref), { interval: 20, timeout: 5_000 }).toBeDefined();
        return attempt;
      },
    };
    const answer = snooze(ref, delayed, claims);
    await checked.opened;
    const { reports } = await stopBatch(record, client, { ledger: racing });

    expect(await answer).toMatchObject({ ok: true });
    expect(reports[0]).toMatchObject({
      disposition: 'acknowledged',
      detail: expect.stringMatching(/^not stopped/),
    });
    expect(stopCalls(client)).toBe(0);
    expect(await ledger.readClaim(ref, Date.now())).toBeUndefined();
  });

  it('answers STOP_UNDER_WAY, once the stop is accepted, to a snooze written after the claimant read the snoozes', async () => {
    // LakeFormation takes 400 ms to accept the stop: the snooze finds the claim pending, and waits
    const { ref, client, record } = setUp(400);
    let read = 0;
    const claimantRead = gate();
    const counting: RunWatchStore = {
      ...watches,
      async readWatches(runs, now) {
        const found = await watches.readWatches(runs, now);
        // the batch's read, then the claimant's
        if (++read === 2) claimantRead.open();
        return found;
      },
    };
    // the snooze checks for a stop before the claim, and is written after the claimant's read
    const delayed: RunWatchStore = {
      ...watches,
      async recordSnooze(...args) {
        await claimantRead.opened;
        return watches.recordSnooze(...args);
      },
    };
    // the batch starts once the snooze has found no stop of the run
    const checked = gate();
    const claims: Pick<LedgerTable, 'readClaim'> = {
      async readClaim(...args) {
        const claim = await ledger.readClaim(...args);
        checked.open();
        return claim;
      },
    };
    const snoozing = snooze(ref, delayed, claims);
    await checked.opened;
    const { reports } = await stopBatch(record, client, { watches: counting });
    const answer = await snoozing;

    expect(reports[0]).toMatchObject({ disposition: 'acknowledged', outcome: 'STOP_REQUESTED' });
    expect(stopCalls(client)).toBe(1);
    expect(answer).toMatchObject({ ok: false, refusal: 'STOP_UNDER_WAY' });
    if (answer.ok) throw new Error('the snooze was made');
    expect(answer.detail).toContain('the snooze cannot hold it back');
    expect(await ledger.readClaim(ref, Date.now())).toMatchObject({ state: 'REQUESTED' });
  });

  it('makes the stop when the run has no snooze, reading it once more after the claim', async () => {
    const { ref, client, record } = setUp();
    const reads: number[] = [];
    const counting: RunWatchStore = {
      ...watches,
      async readWatches(runs, now) {
        reads.push(runs.length);
        return watches.readWatches(runs, now);
      },
    };
    const { reports } = await stopBatch(record, client, { watches: counting });
    expect(reports[0]).toMatchObject({ disposition: 'acknowledged', outcome: 'STOP_REQUESTED' });
    expect(stopCalls(client)).toBe(1);
    expect(reads).toEqual([1, 1]);
    expect(await ledger.readClaim(ref, Date.now())).toMatchObject({ state: 'REQUESTED' });
  });
});
