import { ChangeMessageVisibilityBatchCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { processStopBatch } from '../../lib/edge/queue/stop-batch.js';
import { createLakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import { createFlowControl } from '../../lib/upstream/transport/flow.js';
import { countingTokens, fakeFetch } from '../support/fake-fetch.js';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const DLQ = 'http://127.0.0.1:1/123456789012/stop-dlq';
const QUEUE = 'http://127.0.0.1:1/123456789012/stop';
const BACKOFF = { baseSeconds: 30, maxSeconds: 600 };
const sqsMock = mockClient(SQSClient);

/** Ten stop requests of ten jobs, each received `receiveCount` times. */
function batchOf(receiveCount: number): SQSRecord[] {
  return Array.from({ length: 10 }, (_, i) => ({
    messageId: `m${i + 1}`,
    receiptHandle: `r${i + 1}`,
    body: JSON.stringify({ jobId: `job-${i + 1}` }),
    attributes: { ApproximateReceiveCount: String(receiveCount) } as SQSRecord['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:stop',
    awsRegion: 'eu-west-1',
  }));
}

/**
 * A container whose breaker opened on five failures and whose next probe is due now, and the
 * answers LakeFormation gives from here on.
 */
async function containerDueToProbe(firstProbeMs: number, answerStatus: number) {
  let now = Date.now();
  const timing = {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    random: () => 0.5,
  };
  const flow = createFlowControl({ maxConcurrency: 10, firstProbeMs, timing });
  for (let i = 0; i < 5; i++) (await flow.acquire(Number.POSITIVE_INFINITY)).release('failed');
  now += firstProbeMs;
  const fetch = fakeFetch(Array.from({ length: 20 }, () => ({ status: answerStatus })));
  const client = createLakeFormationClient({
    endpoint: 'https://lakeformation.test',
    projectId: PROJECT,
    tokens: countingTokens(),
    fetch,
    flow,
    timing,
  });
  return { client, fetch, flow, now: timing.now };
}

const run = ({ client, now }: Awaited<ReturnType<typeof containerDueToProbe>>, records: SQSRecord[]) =>
  processStopBatch(records, {
    client,
    now,
    sqs: new SQSClient({}),
    dlqUrl: DLQ,
    defaultInstanceId: INSTANCE,
    allowedInstanceIds: new Set([INSTANCE]),
    concurrency: 10,
    deadline: now() + 55_000,
    retries: { queueUrl: QUEUE, backoff: BACKOFF, random: () => 0.5 },
  });

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('Function: processStopBatch() while the breaker probes', () => {
  it('makes every stop of the batch once the probe is answered, sending none away', async () => {
    // Prepare: LakeFormation is back; the batch's messages have waited long (back-off 600 s)
    const container = await containerDueToProbe(5_000, 202);
    const { fetch, flow } = container;

    // Act
    const { response, reports } = await run(container, batchOf(9));

    // Assess: one probe, then the nine others' calls; nothing retried, no visibility changed
    expect(response.batchItemFailures).toEqual([]);
    expect(reports.map((report) => report.outcome)).toEqual(reports.map(() => 'STOP_REQUESTED'));
    expect(fetch.calls).toHaveLength(10);
    expect(flow.state().breaker).toBe('closed');
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(0);
  });

  it('sends the whole batch away until the next probe when the probe fails, with one call made', async () => {
    // Prepare: LakeFormation still down; probes 60 s apart at first, so the next is due in 120 s
    const container = await containerDueToProbe(60_000, 503);
    const { fetch } = container;

    // Act: messages on their fourth receive (back-off 240 s, half of it 120 s)
    const { response, reports } = await run(container, batchOf(4));

    // Assess: every message retried by the next probe (120 s, + 10 % at this jitter): the nine that
    // waited for the probe's answer, and the probe's own, whose retry found the breaker open again
    expect(response.batchItemFailures).toHaveLength(10);
    expect(fetch.calls).toHaveLength(1);
    expect(reports.map((report) => [report.errorCode, report.nextAttemptSeconds])).toEqual(
      reports.map(() => ['UPSTREAM_ERROR', 132]),
    );
    const entries = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? []);
    expect(entries.map((entry) => entry.VisibilityTimeout)).toEqual(entries.map(() => 132));
    expect(entries).toHaveLength(10);
  });
});
