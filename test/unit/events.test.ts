import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { type LifecycleEvent, publishEvents } from '../../lib/domain/lifecycle/events.js';
import { metrics } from '../../lib/platform/metrics.js';
import { captureLogs, emfTotals } from '../support/logs.js';

const eventsMock = mockClient(EventBridgeClient);
const NOW = Date.parse('2026-12-01T12:00:00Z');

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

    expect(result).toEqual({ published: 4, failed: 0 });
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

    expect(result).toEqual({ published: 2, failed: 1 });
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
    expect(result).toEqual({ published: 10, failed: 2 });
    expect(emfTotals(logs.lines).EventPublishFailed).toBe(2);
  });

  it('publishes nothing and calls nothing for no events', async () => {
    expect(await publishEvents(new EventBridgeClient({}), 'bus', [])).toEqual({ published: 0, failed: 0 });
    expect(sent()).toEqual([]);
  });
});
