import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { stopAnnouncer } from '../../lib/domain/lifecycle/announce.js';

const sqsMock = mockClient(SQSClient);
const eventsMock = mockClient(EventBridgeClient);
const NOW = Date.parse('2026-12-01T12:00:00Z');

const announce = () =>
  stopAnnouncer({
    sqs: () => new SQSClient({}),
    confirmQueueUrl: 'http://127.0.0.1:1/123456789012/confirm',
    eventBridge: () => new EventBridgeClient({}),
    busName: 'unit-events',
    settings: { firstCheckSeconds: 30, windowSeconds: 1800 },
    now: () => NOW,
  });

const record = {
  stopId: 'stop-1',
  jobId: 'job-1',
  instanceId: 'inst-1',
  state: 'REQUESTED',
  outcome: 'STOP_REQUESTED',
  requests: [{ source: 'webhook', caller: 'bearer:0', reason: 'runaway', at: '2026-12-01T11:59:58.000Z' }],
  requestCount: 3,
};

const queuedCheck = () =>
  JSON.parse(String(sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody)) as Record<
    string,
    unknown
  >;

beforeEach(() => {
  sqsMock.reset();
  eventsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({});
  eventsMock.on(PutEventsCommand).resolves({ Entries: [{ EventId: '1' }], FailedEntryCount: 0 });
});

describe('Function: stopAnnouncer()', () => {
  it("dates the first check's acceptance from the record (made at LakeFormation's answer), not from when it is queued", async () => {
    // the record's write was retried for 1.4 s before the announcement
    await announce()({ ...record, createdAt: new Date(NOW - 1_400).toISOString() });
    expect(queuedCheck()).toMatchObject({ acceptedAt: new Date(NOW - 1_400).toISOString(), checks: 0 });
    // what the check needs to write the record, should the record be missing
    expect(queuedCheck()).toMatchObject({ requests: record.requests, requestCount: 3 });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, { DelaySeconds: 30 });
  });

  it('dates it now when the record has no usable creation time', async () => {
    await announce()({ ...record, createdAt: 'not a time' });
    expect(queuedCheck()).toMatchObject({ acceptedAt: new Date(NOW).toISOString() });
  });
});
