import { createHash } from 'node:crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import { enqueueStops } from '../../lib/domain/enqueue.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { pollOnce, type SqsHandler } from '../../local/sqs-poller.js';
import { drainQueue, queueDepth, uniqueName, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator } from '../support/emulator.js';
import { captureLogs, emfTotals } from '../support/logs.js';

let emulator: LakeFormationEmulator;
let sqs: SQSClient;
let handler: SqsHandler;
/** One DLQ for the file (the function reads STOP_DLQ_URL at cold start); emptied before each test. */
let dlqUrl: string;
let dlqArn: string;

/** A stop queue on moto whose redrive policy points at the DLQ. */
async function queues(maxReceiveCount: number, visibilitySeconds: number) {
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: uniqueName('stop'),
      Attributes: {
        VisibilityTimeout: String(visibilitySeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl ?? '', dlqUrl };
}

const drainAll = (url: string) => drainQueue(sqs, url);

/** Polls `queueUrl` (at most 5 times) until `count` messages were received; returns how many were. */
async function receive(queueUrl: string, count: number): Promise<number> {
  let received = 0;
  for (let i = 0; i < 5 && received < count; i++) {
    received += (await pollOnce({ sqs, queueUrl, handler, waitTimeSeconds: 1 })).received;
  }
  return received;
}
const queueDepthOf = (url: string) => queueDepth(sqs, url);

beforeAll(async () => {
  useMoto();
  sqs = new SQSClient({});
  emulator = await testEmulator({ stopDelayMs: 20 });
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) vi.stubEnv(key, value);
  dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('stop-dlq') }))).QueueUrl ?? '';
  dlqArn =
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn ?? '';
  vi.stubEnv('STOP_DLQ_URL', dlqUrl);
  const module = (await import('../../functions/bulk-stop.js')) as unknown as { handler: SqsHandler };
  handler = module.handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

beforeEach(async () => {
  await drainAll(dlqUrl);
  emulator.tokensIssued = 0;
  emulator.faults.clear();
  emulator.store.clear();
  resetContainer();
});

describe('bulk-stop on a real SQS queue (moto) against the emulator', () => {
  it('sends invalid messages to the DLQ at once, unchanged, with errorCode and errorMessage', async () => {
    const { queueUrl, dlqUrl } = await queues(5, 30);
    const bodies = ['{oops', '{"jobId": "a/b"}', '{"jobId": "fine-job", "extra": 1}'];
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })),
      }),
    );

    const result = await pollOnce({ sqs, queueUrl, handler, waitTimeSeconds: 0 });
    const dead = await drainAll(dlqUrl);

    expect(result).toMatchObject({ received: 3, deleted: 3, failed: 0 });
    expect(await queueDepthOf(queueUrl)).toBe(0);
    expect(
      dead
        .map((m) => [
          m.Body,
          m.MessageAttributes?.errorCode?.StringValue,
          Boolean(m.MessageAttributes?.errorMessage?.StringValue),
        ])
        .sort(),
    ).toEqual(
      [
        ['{oops', 'INVALID_JSON', true],
        ['{"jobId": "a/b"}', 'INVALID_ID', true],
        ['{"jobId": "fine-job", "extra": 1}', 'INVALID_MESSAGE', true],
      ].sort(),
    );
  });

  it('dead-letters a batch of ten ~250 KiB invalid messages within SQS limits, trimming the one too large', async () => {
    const { queueUrl, dlqUrl } = await queues(5, 30);
    // invalid (the reason is far too long); 9 of ~250 KiB, and one that fits only without attributes
    const body = (bytes: number) => JSON.stringify({ jobId: 'a', reason: 'r'.repeat(bytes - 25) });
    const bodies = [...Array.from({ length: 9 }, (_, i) => body(250 * 1024 + i)), body(262_100)];
    expect(Buffer.byteLength(bodies[9] ?? '')).toBe(262_100);
    const sent = new Map<string, string>();
    for (const messageBody of bodies) {
      const { MessageId } = await sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: messageBody }),
      );
      sent.set(MessageId ?? '', messageBody);
    }

    let failed = 0;
    let received = 0;
    for (let i = 0; i < 5 && received < 10; i++) {
      const result = await pollOnce({ sqs, queueUrl, handler, waitTimeSeconds: 1 });
      received += result.received;
      failed += result.failed;
    }
    const dead = await drainAll(dlqUrl);

    expect({ received, failed }).toEqual({ received: 10, failed: 0 });
    expect(await queueDepthOf(queueUrl)).toBe(0);
    expect(dead).toHaveLength(10);
    expect(dead.every((m) => m.MessageAttributes?.errorCode?.StringValue === 'INVALID_MESSAGE')).toBe(true);
    const [trimmed, ...others] = [...dead].sort(
      (a, b) =>
        Number(Boolean(b.MessageAttributes?.bodyTrimmed)) - Number(Boolean(a.MessageAttributes?.bodyTrimmed)),
    );
    expect(others.map((m) => m.Body).sort()).toEqual(bodies.slice(0, 9).sort());
    const attribute = (name: string) => trimmed?.MessageAttributes?.[name]?.StringValue;
    const original = sent.get(attribute('originalMessageId') ?? '') ?? '';
    expect(original).toBe(bodies[9]);
    expect(attribute('bodyTrimmed')).toBe('true');
    expect(attribute('originalBodyBytes')).toBe('262100');
    expect(attribute('originalBodySha256')).toBe(createHash('sha256').update(original).digest('hex'));
    expect(original.startsWith(trimmed?.Body ?? '-')).toBe(true);
    expect(Buffer.byteLength(trimmed?.Body ?? '')).toBeLessThan(262_100);
  });

  it('publishes the batch outcomes as EMF metrics, once per invocation', async () => {
    const { queueUrl } = await queues(5, 30);
    const running = emulator.store.add(INSTANCE, {
      name: 'runs',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    const done = emulator.store.add(INSTANCE, {
      name: 'done',
      type: 'METADATA_MIGRATION',
      status: 'SUCCESS',
    });
    await enqueueStops(queueUrl, [{ jobId: running.id }, { jobId: done.id }], sqs);
    await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: '0', MessageBody: 'not json' }] }),
    );
    const logs = captureLogs();

    expect(await receive(queueUrl, 3)).toBe(3);
    expect(emfTotals(logs.lines)).toEqual({ StopRequested: 1, NotRunning: 1, DeadLettered: 1 });
    await drainAll(dlqUrl);
  });

  it('leaves alone a job started again while its stop waited in the queue, and stops the run a message names', async () => {
    const { queueUrl } = await queues(5, 30);
    const seed = { type: 'METADATA_MIGRATION', status: 'RUNNING', startedMinutesAgo: 300 } as const;
    const rerun = emulator.store.add(INSTANCE, { name: 'ran_again', ...seed });
    const same = emulator.store.add(INSTANCE, { name: 'same_run', ...seed });
    const runOf = (job: { startTime?: number }) => new Date(job.startTime ?? 0).toISOString();
    await enqueueStops(
      queueUrl,
      [rerun, same].map((job) => ({ jobId: job.id, runStartedAt: runOf(job), source: 'stale-job-reaper' })),
      sqs,
    );
    // while the messages wait, the first job's run ends and the job is started again
    rerun.status = 'SUCCESS';
    emulator.store.start(rerun);
    const logs = captureLogs();

    expect(await receive(queueUrl, 2)).toBe(2);
    expect(await queueDepthOf(queueUrl)).toBe(0);
    expect(await drainAll(dlqUrl)).toEqual([]);
    expect(emulator.store.get(INSTANCE, rerun.id)).toMatchObject({ status: 'RUNNING', stopsAccepted: 0 });
    expect(emulator.store.get(INSTANCE, same.id)?.stopsAccepted).toBe(1);
    const outcomes = new Map(
      logs.lines
        .filter((line) => line.message === 'message processed')
        .map((line) => [line.jobId, line.outcome]),
    );
    expect(outcomes).toEqual(
      new Map([
        [rerun.id, 'RUN_CHANGED'],
        [same.id, 'STOP_REQUESTED'],
      ]),
    );
  });

  it('still stops the run a message names when LakeFormation reads the job without start_time, with a warning', async () => {
    const { queueUrl } = await queues(5, 30);
    const job = emulator.store.add(INSTANCE, {
      name: 'show_without_times',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
      startedMinutesAgo: 300,
    });
    const runStartedAt = new Date(job.startTime ?? 0).toISOString();
    await enqueueStops(queueUrl, [{ jobId: job.id, runStartedAt, source: 'stale-job-reaper' }], sqs);
    emulator.update({ showStartTime: false });
    const logs = captureLogs();
    try {
      expect(await receive(queueUrl, 1)).toBe(1);
    } finally {
      emulator.restoreSettings();
    }

    expect(emulator.store.get(INSTANCE, job.id)?.stopsAccepted).toBe(1);
    expect(logs.lines.find((line) => line.message === 'message processed')).toMatchObject({
      jobId: job.id,
      outcome: 'STOP_REQUESTED',
    });
    expect(logs.lines.find((line) => line.level === 'WARN')?.message).toContain('without start_time');
  });

  it('lets a message that keeps failing reach the DLQ after maxReceiveCount receives', async () => {
    const { queueUrl, dlqUrl } = await queues(2, 1);
    const job = emulator.store.add(INSTANCE, {
      name: 'always_fails',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    emulator.faults.configure({ script: [{ fault: '503', times: 1_000, match: { path: job.id } }] });
    await enqueueStops(queueUrl, [{ jobId: job.id, source: 'test' }], sqs);

    const receiveCounts: string[] = [];
    const recording: SqsHandler = async (event, context) => {
      receiveCounts.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
      return handler(event, context);
    };
    for (let i = 0; i < 20 && (await queueDepthOf(dlqUrl)) === 0; i++) {
      await pollOnce({ sqs, queueUrl, handler: recording, waitTimeSeconds: 1 });
    }
    const dead = await drainAll(dlqUrl);

    expect(receiveCounts).toEqual(['1', '2']);
    expect(dead.map((m) => JSON.parse(m.Body ?? '{}').jobId)).toEqual([job.id]);
    expect(emulator.store.get(INSTANCE, job.id)?.status).toBe('RUNNING');
  });

  // at scale (1,000 messages in CI, 10,000 in npm run test:soak) with token expiry and a reaper run:
  // test/reliability/soak.test.ts
  it('stops 150 jobs through 20 % transient faults with every message accounted for', async () => {
    const { queueUrl, dlqUrl } = await queues(5, 3);
    const jobs = Array.from({ length: 150 }, (_, i) =>
      emulator.store.add(INSTANCE, { name: `bulk_${i}`, type: 'METADATA_MIGRATION', status: 'RUNNING' }),
    );
    emulator.faults.configure({
      random: { seed: 42, rates: { '408': 0.05, '429': 0.05, '500': 0.05, reset: 0.05 } },
    });
    const sent = await enqueueStops(
      queueUrl,
      jobs.map((job) => ({ jobId: job.id, source: 'bulk-test' })),
      sqs,
    );
    expect(sent).toEqual({ sent: 150, failed: [] });

    const acknowledged = new Map<string, string>();
    const recording: SqsHandler = async (event: SQSEvent, context) => {
      const response = (await handler(event, context)) as SQSBatchResponse;
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      for (const record of event.Records) {
        if (!failed.has(record.messageId)) acknowledged.set(record.messageId, JSON.parse(record.body).jobId);
      }
      return response;
    };
    // each stop is also a claim and a record in the ledger, a confirmation check and an event, all on moto
    const until = Date.now() + 110_000;
    while (Date.now() < until && (await queueDepthOf(queueUrl)) > 0) {
      await Promise.all(
        [1, 2, 3, 4].map(() => pollOnce({ sqs, queueUrl, handler: recording, waitTimeSeconds: 1 })),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const dead = (await drainAll(dlqUrl)).map((m) => JSON.parse(m.Body ?? '{}').jobId as string);

    const accountedFor = new Set([...acknowledged.values(), ...dead]);
    expect(await queueDepthOf(queueUrl)).toBe(0);
    expect(accountedFor.size).toBe(150);
    const notStopped = jobs
      .filter((job) => emulator.store.get(INSTANCE, job.id)?.status !== 'STOPPED')
      .map((j) => j.id);
    expect(notStopped.filter((id) => !dead.includes(id))).toEqual([]);
    expect(emulator.faults.injected).toMatchObject({
      '408': expect.any(Number),
      '429': expect.any(Number),
      '500': expect.any(Number),
      reset: expect.any(Number),
    });
    expect(emulator.tokensIssued).toBe(1);
  }, 120_000);
});
