import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FAILURES, type FailureKind } from '../../lib/domain/failures.js';
import { processStopBatch } from '../../lib/edge/queue/stop-batch.js';
import { LakeFormationTimeoutError } from '../../lib/upstream/lakeformation/errors.js';
import { fakeClient, httpError } from '../support/fake-client.js';

/**
 * The failure table with three rows changed, as a new row or a change of mind would: refused
 * credentials and an unavailable ledger dead-lettered, a timeout acknowledged. The queue function must do what the table says.
 */
vi.mock('../../lib/domain/failures.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../lib/domain/failures.js')>();
  const table = {
    ...actual.FAILURES,
    CREDENTIALS_REJECTED: { ...actual.FAILURES.CREDENTIALS_REJECTED, queue: 'dead-lettered' },
    UPSTREAM_TIMEOUT: { ...actual.FAILURES.UPSTREAM_TIMEOUT, queue: 'acknowledged' },
    LEDGER_UNAVAILABLE: { ...actual.FAILURES.LEDGER_UNAVAILABLE, queue: 'dead-lettered' },
  };
  return {
    ...actual,
    FAILURES: table,
    isDeadLetterCode: (kind: FailureKind) => table[kind].queue === 'dead-lettered',
  };
});

const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const DLQ = 'http://127.0.0.1:1/123456789012/stop-dlq';
const sqsMock = mockClient(SQSClient);

function records(...bodies: (string | object)[]): SQSRecord[] {
  return bodies.map((body, i) => ({
    messageId: `m${i + 1}`,
    receiptHandle: `r${i + 1}`,
    body: JSON.stringify(typeof body === 'string' ? { jobId: body } : body),
    attributes: {} as SQSRecord['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:stop',
    awsRegion: 'eu-west-1',
  }));
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('Function: processStopBatch() and the failure table', () => {
  it("does with a failed stop what the table's queue column says: dead-letter, acknowledge or retry", async () => {
    // Prepare: the changed rows are the table's, as the queue function reads it
    expect([FAILURES.CREDENTIALS_REJECTED.queue, FAILURES.UPSTREAM_TIMEOUT.queue]).toEqual([
      'dead-lettered',
      'acknowledged',
    ]);
    const client = fakeClient({
      stop: (jobId) =>
        jobId === 'refused'
          ? httpError(403)
          : jobId === 'slow'
            ? new LakeFormationTimeoutError('stopJob', 100)
            : httpError(503),
    });

    // Act
    const { response, reports } = await processStopBatch(records('refused', 'slow', 'down'), {
      client,
      sqs: new SQSClient({}),
      dlqUrl: DLQ,
      defaultInstanceId: INSTANCE,
      allowedInstanceIds: new Set([INSTANCE]),
      concurrency: 3,
      deadline: Date.now() + 30_000,
    });

    // Assess: only the unchanged row's message is retried; the refused one is in the DLQ
    expect(reports.map((report) => [report.jobId, report.disposition, report.errorCode])).toEqual([
      ['refused', 'dead-lettered', 'CREDENTIALS_REJECTED'],
      ['slow', 'acknowledged', 'UPSTREAM_TIMEOUT'],
      ['down', 'retry', 'UPSTREAM_ERROR'],
    ]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm3' }]);
    const sent = sqsMock
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? []);
    expect(sent.map((entry) => [entry.MessageBody, entry.MessageAttributes?.errorCode?.StringValue])).toEqual(
      [[JSON.stringify({ jobId: 'refused' }), 'CREDENTIALS_REJECTED']],
    );
  });

  it('reads the table for a reaper stop whose snoozes cannot be read as well', async () => {
    const client = fakeClient();
    const reaped = { jobId: 'stale', source: 'stale-job-reaper', runStartedAt: '2026-05-27T10:04:35.743Z' };
    const { response, reports } = await processStopBatch(records(reaped), {
      client,
      sqs: new SQSClient({}),
      dlqUrl: DLQ,
      defaultInstanceId: INSTANCE,
      allowedInstanceIds: new Set([INSTANCE]),
      concurrency: 1,
      deadline: Date.now() + 30_000,
      watches: {
        readWatches: async () => {
          throw new Error('DynamoDB is down');
        },
      },
    });
    expect(reports.map((report) => [report.disposition, report.errorCode])).toEqual([
      ['dead-lettered', 'LEDGER_UNAVAILABLE'],
    ]);
    expect(response.batchItemFailures).toEqual([]);
    expect(client.calls).toEqual([]);
  });
});
