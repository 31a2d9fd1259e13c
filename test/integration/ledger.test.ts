import { DeleteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { StopInProgressError } from '../../lib/domain/failures.js';
import { newStopId, type StopRecord } from '../../lib/domain/ledger/records.js';
import { stopOnce } from '../../lib/domain/ledger/stop-once.js';
import {
  createLedgerTable,
  decodeCursor,
  encodeCursor,
  type LedgerTable,
} from '../../lib/domain/ledger/table.js';
import { createTestLedger, useMoto } from '../support/aws.js';
import { fakeClient, httpError } from '../support/fake-client.js';

const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
let ledger: LedgerTable;
let tableName: string;
let jobs = 0;
/** A job id no other test uses. */
const job = () => ({ instanceId: INSTANCE, jobId: `ledger-job-${Date.now().toString(36)}-${++jobs}` });
const request = (source: string) => ({ source, at: new Date().toISOString() });
const deadline = () => Date.now() + 20_000;

beforeAll(async () => {
  useMoto();
  tableName = await createTestLedger('ledger');
  ledger = createLedgerTable({ tableName, retentionDays: 90, client: new DynamoDBClient({}) });
});

describe('stopOnce() on the ledger (moto DynamoDB)', () => {
  it('asks holdBack once the run is claimed: a reason lets go of the claim and makes no call; a throw too, and is thrown on', async () => {
    const cases = [
      { holdBack: async () => 'not stopped: snoozed', throws: false },
      {
        holdBack: async (): Promise<string> => {
          throw new Error('the stop ledger is unavailable (readWatches: TimeoutError)');
        },
        throws: true,
      },
    ];
    for (const { holdBack, throws } of cases) {
      const ref = job();
      const client = fakeClient();
      let claimHeld: unknown;
      const asked = async () => {
        claimHeld = await ledger.readClaim(ref, Date.now());
        return holdBack();
      };
      const answer = stopOnce(
        { client, ledger },
        ref,
        { runStartedAt: Date.now() - 3600_000, requests: [request('stale-job-reaper')], holdBack: asked },
        { deadline: deadline() },
      );
      if (throws) {
        await expect(answer).rejects.toThrow('readWatches: TimeoutError');
      } else {
        expect(await answer).toEqual({ heldBack: 'not stopped: snoozed' });
      }
      expect(claimHeld).toMatchObject({ state: 'PENDING' });
      expect(client.calls).toEqual([]);
      expect(await ledger.readClaim(ref, Date.now())).toBeUndefined();
    }
  });

  it('makes one LakeFormation stop for concurrent requests of a job, all sharing its stopId', async () => {
    // Prepare: the stop call takes 300 ms, long enough for every request to find it pending
    const ref = job();
    const client = fakeClient({
      stop: () => new Promise((resolve) => setTimeout(() => resolve('accept'), 300)),
    });
    // Act: the webhook, a queue message and the reaper's message at once
    const results = await Promise.all(
      ['webhook', 'queue', 'stale-job-reaper'].map((source) =>
        stopOnce({ client, ledger }, ref, { requests: [request(source)] }, { deadline: deadline() }),
      ),
    );
    // Assess
    expect(client.calls.filter((call) => call.op === 'stopJob')).toHaveLength(1);
    expect(new Set(results.map((r) => r.stopId)).size).toBe(1);
    expect(results.map((r) => r.result.outcome)).toEqual([
      'STOP_REQUESTED',
      'STOP_REQUESTED',
      'STOP_REQUESTED',
    ]);
    expect(results.filter((r) => r.joined)).toHaveLength(2);
    const record = await ledger.getStop(results[0]?.stopId ?? '', Date.now());
    expect(record).toMatchObject({ state: 'REQUESTED', outcome: 'STOP_REQUESTED', requestCount: 3, ...ref });
    // moto applies concurrent updates of one item without isolation (a list_append can be lost to
    // another; DynamoDB applies each atomically): the count is exact, the kept list at most one short
    const sources = record?.requests.map((r) => r.source) ?? [];
    expect(sources.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sources).size).toBe(sources.length);
    for (const source of sources) expect(['queue', 'stale-job-reaper', 'webhook']).toContain(source);
  });

  it('joins a REQUESTED stop of the same run later, without a call; another run gets its own stop', async () => {
    // Prepare
    const ref = job();
    const run = Date.UTC(2026, 11, 1, 8);
    const jobs = { [ref.jobId]: { status: 'RUNNING', startTime: run } };
    const client = fakeClient({ jobs });
    const stop = (runStartedAt: number, source: string) =>
      stopOnce(
        { client, ledger },
        ref,
        { runStartedAt, requests: [request(source)] },
        { deadline: deadline() },
      );
    // Act
    const first = await stop(run, 'a');
    const again = await stop(run, 'b');
    jobs[ref.jobId] = { status: 'RUNNING', startTime: run + 3_600_000 }; // the job ran again
    const other = await stop(run + 3_600_000, 'c');
    // Assess
    expect(again).toMatchObject({ stopId: first.stopId, joined: true });
    expect(other).toMatchObject({ joined: false, result: { outcome: 'STOP_REQUESTED' } });
    expect(other.stopId).not.toBe(first.stopId);
    expect(client.calls.filter((call) => call.op === 'stopJob')).toHaveLength(2);
  });

  it('lets a run-less request join a stop only while it is younger than 60 s', async () => {
    const ref = job();
    const client = fakeClient();
    let now = Date.now();
    const deps = { client, ledger, now: () => now };
    const first = await stopOnce(deps, ref, { requests: [request('a')] }, { deadline: now + 20_000 });
    now += 59_000;
    const joined = await stopOnce(deps, ref, { requests: [request('b')] }, { deadline: now + 20_000 });
    now += 2_000;
    const later = await stopOnce(deps, ref, { requests: [request('c')] }, { deadline: now + 20_000 });
    expect(joined.stopId).toBe(first.stopId);
    expect(later.stopId).not.toBe(first.stopId);
  });

  it('records other outcomes and lets the next request make its own check', async () => {
    const ref = job();
    const client = fakeClient({ stop: httpError(400, 'x'), jobs: { [ref.jobId]: { status: 'SUCCESS' } } });
    const first = await stopOnce(
      { client, ledger },
      ref,
      { requests: [request('a')] },
      { deadline: deadline() },
    );
    const second = await stopOnce(
      { client, ledger },
      ref,
      { requests: [request('b')] },
      { deadline: deadline() },
    );
    expect(first.result.outcome).toBe('NOT_RUNNING');
    expect(second.stopId).not.toBe(first.stopId);
    expect(await ledger.getStop(first.stopId, Date.now())).toMatchObject({
      state: 'NOT_RUNNING',
      status: 'SUCCESS',
    });
  });

  it('records nothing for a retryable failure, and frees the job for the next request', async () => {
    const ref = job();
    let fail = true;
    const client = fakeClient({ stop: () => (fail ? httpError(503) : 'accept') });
    await expect(
      stopOnce({ client, ledger }, ref, { requests: [request('a')] }, { deadline: deadline() }),
    ).rejects.toMatchObject({ status: 503 });
    fail = false;
    const next = await stopOnce(
      { client, ledger },
      ref,
      { requests: [request('b')] },
      { deadline: deadline() },
    );
    expect(next).toMatchObject({ joined: false, result: { outcome: 'STOP_REQUESTED' } });
    expect((await ledger.listStops(ref, { limit: 10, now: Date.now() })).records).toHaveLength(1);
  });

  it('answers STOP_IN_PROGRESS when another stop of the run stays pending past the wait', async () => {
    const ref = job();
    await ledger.claimStop(ref, { stopId: newStopId(Date.now()), now: Date.now(), leaseMs: 60_000 });
    const error = await stopOnce(
      { client: fakeClient(), ledger },
      ref,
      { requests: [request('a')] },
      { deadline: Date.now() + 2_500 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StopInProgressError);
  });

  it('ends in STOP_IN_PROGRESS, not a loop, when a REQUESTED claim has no record left to join', async () => {
    // Prepare: the job's claim is REQUESTED, its record gone
    const ref = job();
    const stopId = newStopId(Date.now());
    await ledger.claimStop(ref, { stopId, now: Date.now(), leaseMs: 60_000 });
    const at = new Date().toISOString();
    const stop: StopRecord = {
      stopId,
      ...ref,
      state: 'REQUESTED',
      outcome: 'STOP_REQUESTED',
      createdAt: at,
      updatedAt: at,
      requests: [],
      requestCount: 1,
      events: [],
    };
    await ledger.recordOutcome(ref, stop, Date.now());
    await new DynamoDBClient({}).send(
      new DeleteItemCommand({
        TableName: tableName,
        Key: { pk: { S: `STOP#${stopId}` }, sk: { S: 'RECORD' } },
      }),
    );
    const client = fakeClient();
    // Act
    const error = await stopOnce(
      { client, ledger },
      ref,
      { requests: [request('a')] },
      { deadline: deadline() },
    ).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(StopInProgressError);
    expect(client.calls.filter((call) => call.op === 'stopJob')).toHaveLength(0);
  });

  it('takes over a claim whose claimant died, once its lease is over', async () => {
    const ref = job();
    let now = Date.now();
    await ledger.claimStop(ref, { stopId: newStopId(now), now, leaseMs: 1_000 });
    now += 1_500;
    const client = fakeClient();
    const result = await stopOnce(
      { client, ledger, now: () => now },
      ref,
      { requests: [request('a')] },
      { deadline: now + 20_000 },
    );
    expect(result.joined).toBe(false);
    expect(client.calls.filter((call) => call.op === 'stopJob')).toHaveLength(1);
  });

  it('never reports an accepted stop as not made when its record cannot be written', async () => {
    const ref = job();
    const broken = createLedgerTable({ tableName, retentionDays: 90, client: new DynamoDBClient({}) });
    broken.recordOutcome = async () => {
      throw new Error('DynamoDB is down');
    };
    const result = await stopOnce(
      { client: fakeClient(), ledger: broken, sleep: async () => {} },
      ref,
      { requests: [request('a')] },
      { deadline: deadline() },
    );
    expect(result.result.outcome).toBe('STOP_REQUESTED');
  });
});

describe('the ledger table (moto DynamoDB)', () => {
  const record = (ref: { instanceId: string; jobId: string }, createdAt: string): StopRecord => ({
    stopId: newStopId(Date.parse(createdAt)),
    ...ref,
    state: 'NOT_RUNNING',
    outcome: 'NOT_RUNNING',
    createdAt,
    updatedAt: createdAt,
    requests: [],
    requestCount: 1,
    events: [],
  });

  it("lists a job's stops newest first, page by page, and refuses a cursor of another job", async () => {
    const ref = job();
    for (let day = 1; day <= 5; day++) {
      const created = new Date(Date.now() - (6 - day) * 60_000).toISOString();
      await ledger.recordOutcome(ref, record(ref, created), Date.now());
    }
    const first = await ledger.listStops(ref, { limit: 2, now: Date.now() });
    const token = encodeCursor(first.next ?? {});
    const cursor = decodeCursor(token, ref);
    const second = await ledger.listStops(ref, { limit: 10, now: Date.now(), ...(cursor && { cursor }) });
    const times = [...first.records, ...second.records].map((r) => r.createdAt);
    expect(times).toHaveLength(5);
    expect([...times].sort().reverse()).toEqual(times);
    expect(decodeCursor(token, job())).toBeUndefined();
    expect(decodeCursor('not a cursor!', ref)).toBeUndefined();
  });

  it('treats a record past its expiresAt as gone, though DynamoDB has not deleted it', async () => {
    const ref = job();
    const old = record(ref, '2020-01-01T00:00:00.000Z');
    await ledger.recordOutcome(ref, old, Date.parse(old.createdAt));
    expect(await ledger.getStop(old.stopId, Date.now())).toBeUndefined();
    expect((await ledger.listStops(ref, { limit: 10, now: Date.now() })).records).toEqual([]);
  });

  it('accepts a signature once per method and path within its window', async () => {
    const use = (path: string, now = Date.now()) =>
      ledger.useSignature({
        signature: `sha256=${'ab'.repeat(32)}-${jobs}`,
        method: 'POST',
        path,
        until: now + 300_000,
        now,
      });
    expect(await use('/jobs/a/stop')).toBe(true);
    expect(await use('/jobs/a/stop')).toBe(false);
    expect(await use('/jobs/b/stop')).toBe(true);
    expect(await use('/jobs/a/stop', Date.now() + 400_000)).toBe(true); // past its window
  });

  it('keys: a fresh key, then a replay, a mismatch, and in-progress with a wait', async () => {
    const key = { scope: 'bearer-fp', key: `k-${Date.now()}`, requestHash: 'h1' };
    const now = Date.now();
    expect(await ledger.claimKey(key, { now, lockMs: 10_000 })).toEqual({ kind: 'fresh' });
    expect(await ledger.claimKey(key, { now, lockMs: 10_000 })).toEqual({
      kind: 'in-progress',
      retryAfterSeconds: 10,
    });
    expect(await ledger.claimKey({ ...key, requestHash: 'h2' }, { now, lockMs: 10_000 })).toEqual({
      kind: 'mismatch',
    });
    const response = { statusCode: 202, headers: { Location: '/stops/x' }, body: '{"ok":true}' };
    await ledger.completeKey(key, response);
    expect(await ledger.claimKey(key, { now, lockMs: 10_000 })).toEqual({ kind: 'replay', response });
    await ledger.releaseKey(key); // a completed key is not released
    expect((await ledger.claimKey(key, { now, lockMs: 10_000 })).kind).toBe('replay');
  });

  it('keys: a first request that never finished is taken over after its lock by the same request only', async () => {
    const key = { scope: 'bearer-fp', key: `k-stale-${Date.now()}`, requestHash: 'h1' };
    const now = Date.now();
    expect(await ledger.claimKey(key, { now, lockMs: 1_000 })).toEqual({ kind: 'fresh' });
    const later = now + 2_000; // the first request's lock has passed, its answer never recorded
    expect(await ledger.claimKey({ ...key, requestHash: 'h2' }, { now: later, lockMs: 1_000 })).toEqual({
      kind: 'mismatch',
    });
    expect(await ledger.claimKey(key, { now: later, lockMs: 1_000 })).toEqual({ kind: 'fresh' });
  });

  it('reports a table that cannot be reached as the ledger being unavailable', async () => {
    const missing = createLedgerTable({
      tableName: 'no-such-table',
      retentionDays: 90,
      client: new DynamoDBClient({}),
    });
    await expect(
      missing.claimStop(job(), { stopId: newStopId(Date.now()), now: Date.now(), leaseMs: 1000 }),
    ).rejects.toMatchObject({
      name: 'LedgerUnavailableError',
    });
  });

  it('keeps 50 requests of a stop and counts the rest', async () => {
    const ref = job();
    const stop = record(ref, new Date().toISOString());
    await ledger.recordOutcome(ref, { ...stop, state: 'REQUESTED', outcome: 'STOP_REQUESTED' }, Date.now());
    let last: StopRecord | undefined;
    for (let i = 0; i < 52; i++) last = await ledger.joinStop(stop.stopId, request(`s${i}`), Date.now());
    expect(last?.requests).toHaveLength(50);
    expect(last?.requestCount).toBe(53);
    expect(await ledger.joinStop(newStopId(Date.now()), request('x'), Date.now())).toBeUndefined();
  });

  it('records an outcome once: a retry after a lost answer keeps the requests joined meanwhile', async () => {
    // Prepare: a claim, its accepted stop recorded and joined by two requests
    const ref = job();
    const stopId = newStopId(Date.now());
    expect(await ledger.claimStop(ref, { stopId, now: Date.now(), leaseMs: 20_000 })).toEqual({
      claimed: true,
    });
    const stop = {
      ...record(ref, new Date().toISOString()),
      stopId,
      state: 'REQUESTED',
      outcome: 'STOP_REQUESTED',
    } as const;
    await ledger.recordOutcome(ref, stop, Date.now());
    await ledger.joinStop(stopId, request('late-1'), Date.now());
    await ledger.joinStop(stopId, request('late-2'), Date.now());

    // Act: the claimant writes the outcome again (its first answer was lost)
    await ledger.recordOutcome(ref, stop, Date.now());

    // Assess
    const kept = await ledger.getStop(stopId, Date.now());
    expect(kept?.requestCount).toBe(stop.requestCount + 2);
    expect(kept?.requests.map((r) => r.source)).toEqual([
      ...stop.requests.map((r) => r.source),
      'late-1',
      'late-2',
    ]);
    expect(await ledger.readClaim(ref, Date.now())).toMatchObject({ stopId, state: 'REQUESTED' });
  });
});
