import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LedgerTable } from '../../lib/domain/ledger/table.js';
import type { ConfirmCheck } from '../../lib/domain/lifecycle/confirm.js';
import { processConfirmBatch } from '../../lib/edge/queue/confirm-batch.js';
import type { LakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import { fakeClient } from '../support/fake-client.js';

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
  } as unknown as LedgerTable & { recordEvent: ReturnType<typeof vi.fn> };
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
});
