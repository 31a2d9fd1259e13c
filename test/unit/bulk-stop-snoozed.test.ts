import { readFileSync } from 'node:fs';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { processStopBatch } from '../../lib/edge/queue/stop-batch.js';
import { fakeClient } from '../support/fake-client.js';
import { memoryWatches } from '../support/fake-watches.js';

const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const RUN = Date.UTC(2026, 11, 2, 6, 0, 0);
const sqsMock = mockClient(SQSClient);

function records(...bodies: object[]): SQSRecord[] {
  const template = (
    JSON.parse(readFileSync(new URL('../../events/sqs-stop-batch.json', import.meta.url), 'utf8')) as {
      Records: SQSRecord[];
    }
  ).Records[0] as SQSRecord;
  return bodies.map((body, i) => ({ ...template, messageId: `m${i + 1}`, body: JSON.stringify(body) }));
}

const reaperStop = (jobId: string, runStartedAt = RUN + 743) => ({
  jobId,
  source: 'stale-job-reaper',
  reason: 'running 250 min > limit 240 min (default limit)',
  runStartedAt: new Date(runStartedAt).toISOString(),
});

function batch(watches: ReturnType<typeof memoryWatches>, bodies: object[]) {
  const client = fakeClient({
    jobs: Object.fromEntries(bodies.map((b) => [(b as { jobId: string }).jobId, { startTime: RUN + 743 }])),
  });
  const run = processStopBatch(records(...bodies), {
    client,
    sqs: new SQSClient({}),
    dlqUrl: 'http://127.0.0.1:1/123456789012/dlq',
    defaultInstanceId: INSTANCE,
    allowedInstanceIds: new Set([INSTANCE]),
    concurrency: 10,
    deadline: Date.now() + 60_000,
    watches,
  });
  return { client, run };
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('processStopBatch() with run watches: a snooze made after the reaper queued its stop', () => {
  it('leaves the snoozed run alone (acknowledged, no call) and stops the rest', async () => {
    const watches = memoryWatches();
    const until = Date.now() + 3600_000;
    // snoozed on the run named to the second, as the reaper and the snoozes name it
    await watches.recordSnooze(
      { instanceId: INSTANCE, jobId: 'snoozed', runStartedAt: RUN },
      {
        expectedSnoozes: 0,
        snoozedUntil: until,
        entry: { at: Date.now(), minutes: 60, until, source: 'link' },
      },
      Date.now(),
    );
    const { client, run } = batch(watches, [
      reaperStop('snoozed'),
      reaperStop('other'),
      { jobId: 'snoozed', source: 'pager' },
    ]);
    const { response, reports } = await run;

    expect(response.batchItemFailures).toEqual([]);
    expect(reports[0]).toMatchObject({
      disposition: 'acknowledged',
      jobId: 'snoozed',
      detail: `not stopped: the run was snoozed until ${new Date(until).toISOString()} after the reaper queued its stop`,
    });
    expect(reports[0]).not.toHaveProperty('outcome');
    // a caller's own stop of the job is not the reaper's: a snooze postpones only the reaper
    expect(reports[2]).toMatchObject({ disposition: 'acknowledged', outcome: 'STOP_REQUESTED' });
    expect(
      client.calls
        .filter((c) => c.op === 'stopJob')
        .map((c) => c.jobId)
        .sort(),
    ).toEqual(['other', 'snoozed']);
    expect(watches.reads).toHaveLength(1);
  });

  it('stops a run whose snooze has ended, and another run of the job', async () => {
    const watches = memoryWatches();
    const ended = Date.now() - 1000;
    await watches.recordSnooze(
      { instanceId: INSTANCE, jobId: 'a', runStartedAt: RUN },
      {
        expectedSnoozes: 0,
        snoozedUntil: ended,
        entry: { at: ended, minutes: 1, until: ended, source: 'api' },
      },
      Date.now(),
    );
    const { client, run } = batch(watches, [reaperStop('a')]);
    expect((await run).reports[0]).toMatchObject({ outcome: 'STOP_REQUESTED' });
    expect(client.calls.filter((c) => c.op === 'stopJob')).toHaveLength(1);
  });

  it('retries the reaper’s stops, making none, when the snoozes cannot be read', async () => {
    const watches = memoryWatches();
    watches.readWatches = async () => {
      throw new Error('the stop ledger is unavailable (readWatches: TimeoutError)');
    };
    const { client, run } = batch(watches, [reaperStop('a'), { jobId: 'b' }]);
    const { response, reports } = await run;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(reports[0]).toMatchObject({ disposition: 'retry', errorCode: 'LEDGER_UNAVAILABLE' });
    expect(client.calls.filter((c) => c.op === 'stopJob').map((c) => c.jobId)).toEqual(['b']);
  });

  it('reads nothing when no message is the reaper’s', async () => {
    const watches = memoryWatches();
    await batch(watches, [{ jobId: 'a' }]).run;
    expect(watches.reads).toEqual([]);
  });
});
