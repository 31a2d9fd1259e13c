import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LedgerTable } from '../../lib/domain/ledger/table.js';
import type { ConfirmCheck } from '../../lib/domain/lifecycle/confirm.js';
import { processConfirmBatch } from '../../lib/edge/queue/confirm-batch.js';
import { metrics } from '../../lib/platform/metrics.js';
import type { LakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import { fakeClient, httpError } from '../support/fake-client.js';
import { captureLogs, emfTotals } from '../support/logs.js';

const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const sqsMock = mockClient(SQSClient);
const eventsMock = mockClient(EventBridgeClient);
const NOW = Date.parse('2026-12-01T12:00:00Z');

const template = (
  JSON.parse(readFileSync(new URL('../../events/sqs-stop-batch.json', import.meta.url), 'utf8')) as SQSEvent
).Records[0] as SQSRecord;

/** One check per job, accepted `secondsAgo` ago. */
function checks(jobIds: string[], secondsAgo = 5): SQSRecord[] {
  return jobIds.map((jobId, i) => {
    const check: ConfirmCheck = {
      stopId: `stop-${jobId}`,
      jobId,
      instanceId: INSTANCE,
      acceptedAt: new Date(NOW - secondsAgo * 1000).toISOString(),
      delaySeconds: 1,
      checks: 0,
      retried: false,
    };
    return { ...template, messageId: `c${i + 1}`, body: JSON.stringify(check) };
  });
}

function ledger() {
  return {
    recordEvent: vi.fn(async () => true),
    releaseClaim: vi.fn(async () => {}),
    recordOutcome: vi.fn(async () => {}),
  } as unknown as LedgerTable & {
    recordEvent: ReturnType<typeof vi.fn>;
    recordOutcome: ReturnType<typeof vi.fn>;
  };
}

const options = (client: LakeFormationClient, table = ledger()) => ({
  client,
  ledger: table,
  sqs: () => new SQSClient({}),
  confirmQueueUrl: 'http://127.0.0.1:1/123456789012/confirm',
  eventBridge: () => new EventBridgeClient({}),
  busName: 'unit-events',
  settings: { firstCheckSeconds: 1, windowSeconds: 60 },
  deadline: NOW + 60_000,
  now: () => NOW,
});

beforeEach(() => {
  sqsMock.reset();
  eventsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({});
  eventsMock.on(PutEventsCommand).resolves({ Entries: [{ EventId: '1' }], FailedEntryCount: 0 });
});

describe('Function: processConfirmBatch()', () => {
  it('makes the checks of a batch side by side, not one after another', async () => {
    // Prepare: each job read waits until all ten have started (or 1 s has passed)
    const jobIds = Array.from({ length: 10 }, (_, i) => `job-${i}`);
    let inFlight = 0;
    let most = 0;
    let release: () => void = () => {};
    const allStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    const base = fakeClient({ jobs: Object.fromEntries(jobIds.map((id) => [id, { status: 'STOPPED' }])) });
    const client: LakeFormationClient = {
      ...base,
      async getJob(ref, callOptions) {
        inFlight += 1;
        most = Math.max(most, inFlight);
        if (inFlight === jobIds.length) release();
        await Promise.race([allStarted, new Promise((resolve) => setTimeout(resolve, 1_000))]);
        inFlight -= 1;
        return base.getJob(ref, callOptions);
      },
    };
    const table = ledger();

    // Act
    const response = await processConfirmBatch(checks(jobIds), options(client, table));

    // Assess
    expect(most).toBe(10);
    expect(response.batchItemFailures).toEqual([]);
    expect(table.recordEvent).toHaveBeenCalledTimes(10);
  });

  it('reports only the checks that failed, by message id, when others of the batch succeed', async () => {
    const base = fakeClient({ jobs: { ok: { status: 'STOPPED' }, 'also-ok': { status: 'FAILED' } } });
    const client: LakeFormationClient = {
      ...base,
      async getJob(ref, callOptions) {
        if (ref.jobId === 'broken') throw new Error('connection reset');
        return base.getJob(ref, callOptions);
      },
    };

    const response = await processConfirmBatch(checks(['ok', 'broken', 'also-ok']), options(client));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'c2' }]);
  });

  describe('the stop sent again at half the window', () => {
    // accepted 31 s ago in a 60 s window: this check is past half of it, and the job still runs
    const halfway = () => checks(['stubborn'], 31);
    const running = () => fakeClient({ jobs: { stubborn: { status: 'RUNNING' } } });
    const recorded = (table: ReturnType<typeof ledger>) =>
      table.recordEvent.mock.calls.map((call) => (call[1] as { type: string }).type);
    const published = () =>
      eventsMock
        .commandCalls(PutEventsCommand)
        .flatMap((call) => call.args[0].input.Entries ?? [])
        .map((entry) => entry.DetailType);
    const nextCheck = () =>
      JSON.parse(String(sqsMock.commandCalls(SendMessageCommand).at(-1)?.args[0].input.MessageBody));

    it('is sent once when the next check cannot be queued and SQS delivers the check again', async () => {
      const client = running();
      const table = ledger();
      sqsMock.on(SendMessageCommand).rejectsOnce(new Error('SQS unavailable')).resolves({});
      const [record] = halfway();
      if (!record) throw new Error('no check');

      const first = await processConfirmBatch([record], options(client, table));
      // SQS delivers the same body again (retried: false)
      const again = await processConfirmBatch([record], options(client, table));

      expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'c1' }]);
      expect(again.batchItemFailures).toEqual([]);
      expect(client.calls.filter((call) => call.op === 'stopJob')).toHaveLength(1);
      expect(recorded(table).filter((type) => type === 'Stop Retried')).toHaveLength(1);
      expect(published()).toEqual(['Stop Retried']);
      expect(nextCheck()).toMatchObject({ checks: 1, retried: true });
    });

    it('is sent once when the check cannot be recorded and SQS delivers the check again', async () => {
      const client = running();
      const table = ledger();
      table.recordEvent.mockRejectedValueOnce(new Error('DynamoDB unavailable'));
      const [record] = halfway();
      if (!record) throw new Error('no check');

      const first = await processConfirmBatch([record], options(client, table));
      await processConfirmBatch([record], options(client, table));

      expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'c1' }]);
      expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
      expect(client.calls.filter((call) => call.op === 'stopJob')).toHaveLength(1);
      expect(recorded(table).filter((type) => type === 'Stop Retried')).toHaveLength(1);
    });

    it('fails nothing when it cannot be recorded once sent: the next check is queued already', async () => {
      const client = running();
      const table = ledger();
      table.recordEvent
        .mockResolvedValueOnce(true) // the check
        .mockRejectedValueOnce(new Error('DynamoDB unavailable')); // Stop Retried
      metrics.clearMetrics(); // what earlier tests stored without a handler to publish it
      const logs = captureLogs();

      const response = await processConfirmBatch(halfway(), options(client, table));
      metrics.publishStoredMetrics();

      expect(response.batchItemFailures).toEqual([]);
      expect(client.calls.filter((call) => call.op === 'stopJob')).toHaveLength(1);
      expect(emfTotals(logs.lines).LedgerWriteFailed).toBe(1);
      expect(published()).toEqual(['Stop Retried']);
    });

    it('lets the checks go on when LakeFormation fails the repeated stop, recording why', async () => {
      const client = fakeClient({ jobs: { stubborn: { status: 'RUNNING' } }, stop: httpError(503) });
      const table = ledger();

      const response = await processConfirmBatch(halfway(), options(client, table));

      expect(response.batchItemFailures).toEqual([]);
      expect(nextCheck()).toMatchObject({ checks: 1, retried: true });
      expect(table.recordEvent).toHaveBeenLastCalledWith(
        'stop-stubborn',
        expect.objectContaining({
          type: 'Stop Retry Failed',
          detail: { status: 'RUNNING', failure: 'UPSTREAM_ERROR' },
        }),
      );
      expect(published()).toEqual([]);
    });

    it('counts a refusal (the job is stopping) as sent', async () => {
      const client = fakeClient({ jobs: { stubborn: { status: 'RUNNING' } }, stop: httpError(409) });
      const table = ledger();

      await processConfirmBatch(halfway(), options(client, table));

      expect(recorded(table)).toEqual(['Confirmation Check', 'Stop Retried']);
      expect(published()).toEqual(['Stop Retried']);
    });
  });

  describe('a stop without a record (every write of it after the 202 failed)', () => {
    const REQUEST = {
      source: 'webhook',
      caller: 'bearer:0',
      reason: 'runaway',
      at: '2026-12-01T11:59:55.000Z',
    };
    const carrying = () =>
      checks(['done']).map((record) => {
        const body = { ...JSON.parse(record.body), requests: [REQUEST], requestCount: 2 };
        return { ...record, body: JSON.stringify(body) };
      });

    it('gets it from its check, REQUESTED, then the check goes on: CONFIRMED, with a warning', async () => {
      const client = fakeClient({ jobs: { done: { status: 'STOPPED' } } });
      const table = ledger();
      table.recordEvent.mockResolvedValueOnce(false); // no such record
      const logs = captureLogs();

      const response = await processConfirmBatch(carrying(), options(client, table));

      expect(response.batchItemFailures).toEqual([]);
      expect(table.recordOutcome).toHaveBeenCalledTimes(1);
      const [ref, written, at] = table.recordOutcome.mock.calls[0] ?? [];
      expect(ref).toEqual({ instanceId: INSTANCE, jobId: 'done' });
      expect(written).toMatchObject({
        stopId: 'stop-done',
        state: 'REQUESTED',
        outcome: 'STOP_REQUESTED',
        createdAt: new Date(NOW - 5_000).toISOString(),
        requests: [REQUEST],
        requestCount: 2,
      });
      expect(at).toBe(NOW - 5_000);
      // the event the check was to record, on the record now written
      expect(table.recordEvent).toHaveBeenCalledTimes(2);
      expect(table.recordEvent.mock.calls[1]).toEqual(table.recordEvent.mock.calls[0]);
      expect(table.recordEvent.mock.calls[1]?.[2]).toBe('CONFIRMED');
      expect(logs.lines).toContainEqual(
        expect.objectContaining({
          level: 'WARN',
          message: 'the accepted stop had no record: written from its confirmation check',
          stopId: 'stop-done',
        }),
      );
    });

    it('goes on without it when it cannot be written even so, counted; the next check tries again', async () => {
      const client = fakeClient({ jobs: { done: { status: 'RUNNING' } } });
      const table = ledger();
      table.recordEvent.mockResolvedValue(false);
      table.recordOutcome.mockRejectedValueOnce(new Error('DynamoDB unavailable'));
      metrics.clearMetrics();
      const logs = captureLogs();

      const response = await processConfirmBatch(carrying(), options(client, table));
      metrics.publishStoredMetrics();

      expect(response.batchItemFailures).toEqual([]);
      expect(emfTotals(logs.lines).LedgerWriteFailed).toBe(1);
      // the next check carries the record as this one did
      expect(nextQueued()).toMatchObject({ checks: 1, requests: [REQUEST], requestCount: 2 });
    });

    it('is not written for a stop that has its record', async () => {
      const table = ledger();
      await processConfirmBatch(
        carrying(),
        options(fakeClient({ jobs: { done: { status: 'STOPPED' } } }), table),
      );
      expect(table.recordOutcome).not.toHaveBeenCalled();
    });
  });
});

const nextQueued = () =>
  JSON.parse(String(sqsMock.commandCalls(SendMessageCommand).at(-1)?.args[0].input.MessageBody));
