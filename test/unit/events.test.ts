import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LedgerTable } from '../../lib/domain/ledger/table.js';
import { stopAnnouncer } from '../../lib/domain/lifecycle/announce.js';
import { firstCheck } from '../../lib/domain/lifecycle/confirm.js';
import {
  EVENT_SOURCE,
  EVENT_TYPES,
  type LifecycleEvent,
  publishEvents,
} from '../../lib/domain/lifecycle/events.js';
import { processConfirmBatch } from '../../lib/edge/queue/confirm-batch.js';
import { metrics } from '../../lib/platform/metrics.js';
import { fakeClient } from '../support/fake-client.js';
import { captureLogs, emfTotals } from '../support/logs.js';

const eventsMock = mockClient(EventBridgeClient);
const sqsMock = mockClient(SQSClient);
const NOW = Date.parse('2026-12-01T12:00:00Z');
const SETTINGS = { firstCheckSeconds: 30, windowSeconds: 1800 };

const stopEvent = (stopId: string): LifecycleEvent => ({
  type: 'Stop Confirmed',
  detail: { stopId, jobId: 'job-1', instanceId: 'inst-1', state: 'CONFIRMED' },
});
const sent = () => eventsMock.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);
const stopIds = (entries: PutEventsRequestEntry[]) =>
  entries.map((entry) => (JSON.parse(entry.Detail ?? '{}') as { stopId: string }).stopId);
/** Answers PutEvents as EventBridge does: one result per entry, ErrorCode on those in `failing`. */
const answer = (entries: PutEventsRequestEntry[], failing: (stopId: string) => boolean) => {
  const results = stopIds(entries).map((stopId, i) =>
    failing(stopId)
      ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }
      : { EventId: `e-${stopId}-${i}` },
  );
  return { Entries: results, FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length };
};

beforeEach(() => {
  eventsMock.reset();
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({});
  metrics.clearMetrics(); // what earlier tests stored without a handler to publish it
});

describe('Function: publishEvents()', () => {
  it('sends again only the entries PutEvents reports as failed, with their eventId, after a pause', async () => {
    let calls = 0;
    eventsMock.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      calls += 1;
      return answer(input.Entries, (stopId) => calls === 1 && (stopId === 's2' || stopId === 's4'));
    });
    const sleep = vi.fn(async (_ms: number) => {});

    const result = await publishEvents(
      new EventBridgeClient({}),
      'bus',
      ['s1', 's2', 's3', 's4'].map(stopEvent),
      () => NOW,
      sleep,
    );

    expect(result).toEqual({ published: 4, failed: 0, unpublished: [] });
    const [first, second] = sent();
    expect(sent()).toHaveLength(2);
    expect(stopIds(second ?? [])).toEqual(['s2', 's4']);
    // the same entries, byte for byte: same eventId and at
    expect(second).toEqual([first?.[1], first?.[3]]);
    expect(JSON.parse(second?.[0]?.Detail ?? '{}')).toMatchObject({
      eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      at: new Date(NOW).toISOString(),
    });
    expect(sleep).toHaveBeenCalledTimes(1);
    expect(sleep.mock.calls[0]?.[0]).toBeGreaterThanOrEqual(50);
    expect(sleep.mock.calls[0]?.[0]).toBeLessThanOrEqual(100);
  });

  it('counts what still fails after the last send (EventPublishFailed), logs it, and does not throw', async () => {
    eventsMock
      .on(PutEventsCommand)
      .callsFake((input: { Entries: PutEventsRequestEntry[] }) => answer(input.Entries, (id) => id === 's2'));
    const sleep = vi.fn(async (_ms: number) => {});
    const logs = captureLogs();

    const result = await publishEvents(
      () => new EventBridgeClient({}),
      'bus',
      ['s1', 's2', 's3'].map(stopEvent),
      () => NOW,
      sleep,
    );
    metrics.publishStoredMetrics();

    // s2, the second event given, is the one not published
    expect(result).toEqual({ published: 2, failed: 1, unpublished: [1] });
    expect(sent().map(stopIds)).toEqual([['s1', 's2', 's3'], ['s2'], ['s2']]);
    const eventIds = sent().map((entries) => entries.find((e) => e.Detail?.includes('"s2"'))?.Detail);
    expect(new Set(eventIds).size).toBe(1);
    // the pause doubles: 50-100 ms, then 100-200 ms
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([
      expect.toSatisfy((ms: number) => ms >= 50 && ms <= 100),
      expect.toSatisfy((ms: number) => ms >= 100 && ms <= 200),
    ]);
    expect(emfTotals(logs.lines).EventPublishFailed).toBe(1);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'lifecycle events not published',
        types: ['Stop Confirmed'],
        errorCode: 'ThrottlingException',
      }),
    );
  });

  it('sends ten entries a call, and counts only the batch whose call failed', async () => {
    let calls = 0;
    eventsMock.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      calls += 1;
      if (calls === 2) throw new Error('connection reset');
      return answer(input.Entries, () => false);
    });
    const logs = captureLogs();

    const events = Array.from({ length: 12 }, (_, i) => stopEvent(`s${i + 1}`));
    const result = await publishEvents(new EventBridgeClient({}), 'bus', events, () => NOW);
    metrics.publishStoredMetrics();

    expect(sent().map((entries) => entries.length)).toEqual([10, 2]);
    expect(result).toEqual({ published: 10, failed: 2, unpublished: [10, 11] });
    expect(emfTotals(logs.lines).EventPublishFailed).toBe(2);
  });

  it('publishes nothing and calls nothing for no events', async () => {
    expect(await publishEvents(new EventBridgeClient({}), 'bus', [])).toEqual({
      published: 0,
      failed: 0,
      unpublished: [],
    });
    expect(sent()).toEqual([]);
  });
});

/** The examples of docs/events.md, by DetailType. */
function documented(): Map<
  string,
  { source: string; 'detail-type': string; detail: Record<string, unknown> }
> {
  const text = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
  const examples = [...text.matchAll(/```json\n([\s\S]*?)```/g)]
    .map(
      (match) =>
        JSON.parse(match[1] ?? '') as {
          source: string;
          'detail-type': string;
          detail: Record<string, unknown>;
        },
    )
    .filter((example) => typeof example['detail-type'] === 'string');
  const byType = new Map(examples.map((example) => [example['detail-type'], example]));
  expect(byType.size).toBe(examples.length);
  return byType;
}

describe('docs/events.md', () => {
  it('has one example of every DetailType, each with its eventId and at', () => {
    const examples = documented();
    expect([...examples.keys()].sort()).toEqual([...EVENT_TYPES].sort());
    for (const example of examples.values()) {
      expect(example.source).toBe(EVENT_SOURCE);
      expect(example.detail).toMatchObject({
        eventId: expect.stringMatching(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        ),
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
    }
  });

  /** The Detail of every event the code published, by DetailType. */
  const publishedDetails = () =>
    new Map(
      eventsMock
        .commandCalls(PutEventsCommand)
        .flatMap((call) => call.args[0].input.Entries ?? [])
        .map((entry) => [entry.DetailType, JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>]),
    );

  it("shows a stop's events with the fields, in the order, the functions publish them", async () => {
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    const examples = documented();
    const example = (type: string) => examples.get(type)?.detail ?? {};
    const requested = example('Stop Requested');
    const stop = {
      stopId: String(requested.stopId),
      jobId: String(requested.jobId),
      instanceId: String(requested.instanceId),
      runStartedAt: String(requested.runStartedAt),
      requests: [{ source: 'webhook', reason: String(requested.reason), at: String(requested.at) }],
      createdAt: String(requested.at),
    };
    // the functions that accept stops: an accepted one, a refused one (of a stop that named no run)
    const announce = stopAnnouncer({
      sqs: () => new SQSClient({}),
      confirmQueueUrl: 'http://127.0.0.1:1/123456789012/confirm',
      eventBridge: () => new EventBridgeClient({}),
      busName: 'bus',
      settings: SETTINGS,
    });
    await announce({ ...stop, state: 'REQUESTED', outcome: 'STOP_REQUESTED' });
    const { runStartedAt: _run, ...runless } = stop;
    await announce({
      ...runless,
      requests: [{ source: 'webhook', at: String(requested.at) }],
      state: 'NOT_STOPPABLE',
      outcome: 'NOT_STOPPABLE',
      status: 'RUNNING',
      detail: 'HTTP 409',
    });
    // the confirm function: a check that finds the job ended, one at half the window, one at its end
    const accepted = Date.parse(String(requested.at));
    const check = (jobId: string): SQSRecord => ({
      ...template(),
      messageId: jobId,
      body: JSON.stringify({ ...firstCheck({ ...stop, jobId }, accepted, SETTINGS), checks: 3 }),
    });
    const ledger = {
      recordEvent: async () => true,
      releaseClaim: async () => {},
    } as unknown as LedgerTable;
    const run = Date.parse(stop.runStartedAt);
    const client = fakeClient({
      jobs: {
        ended: {
          status: 'STOPPED',
          startTime: run,
          endTime: Date.parse(String(example('Stop Confirmed').endTime)),
        },
        halfway: { status: 'RUNNING', startTime: run },
        stuck: { status: 'RUNNING', startTime: run },
      },
    });
    const confirm = (jobId: string, secondsLater: number) =>
      processConfirmBatch([check(jobId)], {
        client,
        ledger,
        sqs: () => new SQSClient({}),
        confirmQueueUrl: 'http://127.0.0.1:1/123456789012/confirm',
        eventBridge: () => new EventBridgeClient({}),
        busName: 'bus',
        settings: SETTINGS,
        deadline: accepted + 3_600_000,
        now: () => accepted + secondsLater * 1000,
      });
    await confirm('ended', 90);
    await confirm('halfway', 990);
    await confirm('stuck', 1800);

    const published = publishedDetails();
    for (const type of ['Stop Requested', 'Stop Refused', 'Stop Confirmed', 'Stop Retried', 'Stop Stuck']) {
      expect([type, Object.keys(published.get(type) ?? {})]).toEqual([type, Object.keys(example(type))]);
    }
    // and the values that do not vary from one stop to the next
    const { eventId: _e, at: _a, ...same } = example('Stop Requested');
    expect(published.get('Stop Requested')).toMatchObject(same);
    expect(published.get('Stop Confirmed')).toMatchObject({
      state: 'CONFIRMED',
      why: 'ended',
      status: 'STOPPED',
      endTime: example('Stop Confirmed').endTime,
    });
    expect(published.get('Stop Stuck')).toMatchObject({ state: 'STUCK', windowSeconds: 1800 });
  });
});

const template = () =>
  (
    JSON.parse(
      readFileSync(new URL('../../events/sqs-confirm-check.json', import.meta.url), 'utf8'),
    ) as SQSEvent
  ).Records[0] as SQSRecord;
