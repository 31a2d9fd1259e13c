import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import { enqueueStops } from '../../lib/domain/enqueue.js';
import type { ReaperSummary } from '../../lib/domain/reaper/reaper.js';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { createStopQueues } from '../../local/queues.js';
import { pollOnce, type SqsHandler } from '../../local/sqs-poller.js';
import {
  createFunctionSecrets,
  createTestLedger,
  drainQueue,
  queueDepth,
  uniqueName,
  useMoto,
} from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator } from '../support/emulator.js';
import { forJob, httpEvent, parse, scheduledEvent, withBearer } from '../support/http.js';
import { lambdaContext } from '../support/lambda.js';
import { captureLogs, registerSecret } from '../support/logs.js';

/**
 * One stop per job run across the entry points: the webhook, queue producers and the reaper (whose
 * stops go through the queue) share one ledger table on moto and one emulator.
 */
const BEARER = 'one-stop-bearer-token';
registerSecret(BEARER);

type HttpHandler = (event: StopJobEvent, context: Context) => Promise<unknown>;
let emulator: LakeFormationEmulator;
let sqs: SQSClient;
let queueUrl: string;
let dlqUrl: string;
let ledgerTable: string;
let stopJob: HttpHandler;
let readStops: HttpHandler;
let bulkStop: SqsHandler;
let reaper: (event: ScheduledEvent, context: Context) => Promise<ReaperSummary>;

beforeAll(async () => {
  useMoto();
  sqs = new SQSClient({});
  emulator = await testEmulator({ stopDelayMs: 60_000 });
  ({ queueUrl, dlqUrl } = await createStopQueues(sqs, {
    name: uniqueName('one-stop'),
    visibilityTimeoutSeconds: 5,
  }));
  const { credentialsSecret, webhookSecret } = await createFunctionSecrets('one-stop', {
    bearerTokens: [BEARER],
  });
  ledgerTable = await createTestLedger('one-stop');
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) vi.stubEnv(key, value);
  vi.stubEnv('HUAWEICLOUD_CREDENTIALS_SECRET_ID', credentialsSecret);
  vi.stubEnv('WEBHOOK_SECRET_ID', webhookSecret);
  vi.stubEnv('STOP_LEDGER_TABLE', ledgerTable);
  vi.stubEnv('STOP_QUEUE_URL', queueUrl);
  vi.stubEnv('STOP_DLQ_URL', dlqUrl);
  // a retried message is back after 1-2 s (its back-off, scaled down)
  vi.stubEnv('RETRY_BASE_SECONDS', '1');
  vi.stubEnv('RETRY_MAX_SECONDS', '2');
  vi.stubEnv('STALE_JOB_POLICY', JSON.stringify({ maxRunMinutes: 240, maxStopsPerRun: 50 }));
  const load = async <T>(path: string) => ((await import(path)) as { handler: T }).handler;
  stopJob = await load<HttpHandler>('../../functions/stop-job.js');
  readStops = await load<HttpHandler>('../../functions/read-stops.js');
  bulkStop = await load<SqsHandler>('../../functions/bulk-stop.js');
  reaper = await load<typeof reaper>('../../functions/stop-stale-jobs.js');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

beforeEach(async () => {
  await drainQueue(sqs, queueUrl);
  await drainQueue(sqs, dlqUrl);
  emulator.faults.clear();
  emulator.store.clear();
  emulator.update({ latencyMs: 0 });
  resetContainer();
});

const webhookStop = async (jobId: string) => {
  const event = withBearer(forJob(httpEvent('http-stop-job-bearer'), jobId), BEARER);
  event.body = '{"reason":"from the webhook"}';
  return parse(await stopJob(event, lambdaContext(20_000)));
};
const receipt = async (stopId: string) => {
  const event = withBearer(httpEvent('http-read-stop'), BEARER);
  return parse(
    await readStops(
      { ...event, rawPath: `/stops/${stopId}`, pathParameters: { stopId } },
      lambdaContext(10_000),
    ),
  );
};
/** Consumes the stop queue until it is empty (at most 10 polls); the log lines of its messages. */
async function consume(): Promise<Record<string, unknown>[]> {
  const logs = captureLogs();
  for (let i = 0; i < 10 && (await queueDepth(sqs, queueUrl)) > 0; i++) {
    await pollOnce({ sqs, queueUrl, handler: bulkStop, waitTimeSeconds: 1 });
  }
  return logs.lines.filter((line) => line.message === 'message processed');
}

describe('one stop per job run across the webhook, the queue and the reaper', () => {
  it('makes one LakeFormation stop for concurrent webhook, queue and reaper requests, all sharing its stopId', async () => {
    // Prepare: a stale job; the reaper queues its stop (naming the run), producers queue theirs
    const job = emulator.store.add(INSTANCE, {
      name: 'wanted_by_everyone',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
      startedMinutesAgo: 500,
    });
    expect(await reaper(scheduledEvent(), lambdaContext(60_000))).toMatchObject({ stale: 1, enqueued: 1 });
    const produced = Array.from({ length: 4 }, (_, i) => ({
      jobId: job.id,
      reason: `producer #${i}`,
      source: 'producer',
    }));
    expect((await enqueueStops(queueUrl, produced, sqs)).failed).toEqual([]);
    // every stop call is slow, so that the requests overlap
    emulator.update({ latencyMs: 300 });

    // Act
    const [queueLines, ...answers] = await Promise.all([
      consume(),
      ...Array.from({ length: 5 }, () => webhookStop(job.id)),
    ]);

    // Assess
    expect(emulator.store.get(INSTANCE, job.id)?.stopsAccepted).toBe(1);
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array(5).fill(202));
    const stopIds = new Set([
      ...answers.map((answer) => answer.body.stopId),
      ...(queueLines ?? []).map((line) => line.stopId),
    ]);
    expect(stopIds.size).toBe(1);
    expect(queueLines?.map((line) => [line.source, line.outcome, line.disposition]).sort()).toEqual(
      [
        ...produced.map(() => ['producer', 'STOP_REQUESTED', 'acknowledged']),
        ['stale-job-reaper', 'STOP_REQUESTED', 'acknowledged'],
      ].sort(),
    );
    const record = await receipt(String([...stopIds][0]));
    expect(record.statusCode).toBe(200);
    expect(record.body).toMatchObject({ jobId: job.id, state: 'REQUESTED', requestCount: 10 });
    // every request counted; moto may lose one of concurrent list_appends to the same item (DynamoDB
    // applies each atomically), so the kept list is checked for what it holds, not its length
    const sources = (record.body.requests as { source: string }[]).map((request) => request.source);
    expect(sources.length).toBeGreaterThanOrEqual(8);
    for (const source of sources) expect(['webhook', 'producer', 'stale-job-reaper']).toContain(source);
  });

  it('lets a redelivered message join its stop: no second call, the same stopId', async () => {
    const job = emulator.store.add(INSTANCE, {
      name: 'delivered_twice',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    const message = { jobId: job.id, reason: 'at least once', source: 'producer' };
    await enqueueStops(queueUrl, [message], sqs);
    const first = await consume();
    await enqueueStops(queueUrl, [message], sqs);
    const again = await consume();

    expect(emulator.store.get(INSTANCE, job.id)?.stopsAccepted).toBe(1);
    expect(first).toHaveLength(1);
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ outcome: 'STOP_REQUESTED', stopId: first[0]?.stopId });
  });

  it('retries every message of a batch, with no stop made, while the ledger cannot be written', async () => {
    const job = emulator.store.add(INSTANCE, {
      name: 'ledger_down',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    await enqueueStops(queueUrl, [{ jobId: job.id, source: 'producer' }], sqs);
    vi.stubEnv('STOP_LEDGER_TABLE', 'no-such-ledger-table');
    resetContainer();
    const logs = captureLogs();
    let result: Awaited<ReturnType<typeof pollOnce>>;
    try {
      result = await pollOnce({ sqs, queueUrl, handler: bulkStop, waitTimeSeconds: 1 });
    } finally {
      vi.stubEnv('STOP_LEDGER_TABLE', ledgerTable);
      resetContainer();
    }

    expect(result).toMatchObject({ received: 1, failed: 1 });
    expect(emulator.store.get(INSTANCE, job.id)?.stopsAccepted).toBe(0);
    expect(logs.lines.find((line) => line.message === 'message will be retried')).toMatchObject({
      disposition: 'retry',
      errorCode: 'LEDGER_UNAVAILABLE',
      nextAttemptSeconds: 2,
    });
    // the ledger asks for 5 s, the back-off caps it at 2 s (not the queue's 5 s): then the job is stopped
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const retried = await consume();
    expect(retried[0]).toMatchObject({ outcome: 'STOP_REQUESTED', disposition: 'acknowledged' });
    expect(emulator.store.get(INSTANCE, job.id)?.stopsAccepted).toBe(1);
  });
});
