import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enqueueStops } from '../../lib/domain/enqueue.js';
import type { ReaperSummary } from '../../lib/domain/reaper/reaper.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import type { JobRecord } from '../../local/emulator/store.js';
import { createStopQueues } from '../../local/queues.js';
import { pollOnce, type SqsHandler, startPoller } from '../../local/sqs-poller.js';
import { createTestLedger, drainQueue, queueDepth, uniqueName, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator } from '../support/emulator.js';
import { scheduledEvent } from '../support/http.js';
import { lambdaContext } from '../support/lambda.js';
import { captureLogs } from '../support/logs.js';

/**
 * Soak: SOAK_MESSAGES stop requests (default 1,000 for CI; `npm run test:soak` runs 10,000) through SQS on
 * moto and the local poller, with ~20 % transient faults and the token expiring every few seconds,
 * plus a reaper run with exclusions, some of whose jobs are started again while their stop waits.
 * Every stop is recorded in a ledger table on moto and confirmed by the confirm function (scaled down:
 * first check after 1 s, STUCK after 30 s); a few jobs accept the stop and never stop.
 * Nothing may be lost; nothing excluded or not running, and no later run, may be stopped; each
 * accepted stop is one record that ends CONFIRMED (STUCK for the jobs that never stop).
 */
const MESSAGES = Number(process.env.SOAK_MESSAGES ?? 1000);
const TOKEN_EXPIRY_MS = 3_000;
const POLLERS = 4;
/**
 * Producers send in waves of this many while the queue holds at most two waves: moto's SQS counts every
 * message a queue holds on each call (5 ms per SendMessage at 200 messages waiting, 46 ms at 2,000),
 * which a real queue does not.
 */
const PRODUCER_WAVE = 100;
/** Stale jobs started again after the reaper queued their stop. */
const RERUN = 5;
/** Running jobs that accept every stop and never stop. */
const STUBBORN = 3;
const CONFIRM_WINDOW_SECONDS = 30;
/**
 * How long the consumers may take: every stop is also four or five calls to moto (the ledger, the
 * confirm queue, the event bus), which serves about 10 stops per second here.
 */
const CONSUME_BUDGET_MS = Math.max(540_000, MESSAGES * 200);

let emulator: LakeFormationEmulator;
let sqs: SQSClient;
let queueUrl: string;
let dlqUrl: string;
let bulkStop: SqsHandler;
let confirmStops: SqsHandler;
let confirmQueueUrl: string;
let ledgerTable: string;
let reaper: (event: ScheduledEvent, context: Context) => Promise<ReaperSummary>;

const depth = (url: string) => queueDepth(sqs, url);
const drain = (url: string) => drainQueue(sqs, url);

beforeAll(async () => {
  useMoto();
  sqs = new SQSClient({});
  ({ queueUrl, dlqUrl } = await createStopQueues(sqs, {
    name: uniqueName('soak'),
    visibilityTimeoutSeconds: 5,
  }));
  ({ queueUrl: confirmQueueUrl } = await createStopQueues(sqs, {
    name: uniqueName('soak-confirm'),
    visibilityTimeoutSeconds: 5,
  }));
  ledgerTable = await createTestLedger('soak');
  emulator = await testEmulator({
    stopDelayMs: 50,
    // The error table's answer for a missing job (the pages show 404): the stop and the read both get it.
    missingJob: {
      status: 400,
      error_code: 'lakeformation.00000005',
      error_msg: 'The resource was not found.',
    },
  });
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) vi.stubEnv(key, value);
  vi.stubEnv('STOP_DLQ_URL', dlqUrl);
  vi.stubEnv('STOP_QUEUE_URL', queueUrl);
  vi.stubEnv('STOP_CONCURRENCY', '20');
  // retried messages back after 1-5 s (the queue's own visibility timeout is 5 s)
  vi.stubEnv('RETRY_BASE_SECONDS', '1');
  vi.stubEnv('RETRY_MAX_SECONDS', '5');
  vi.stubEnv('BREAKER_FIRST_PROBE_SECONDS', '1');
  vi.stubEnv('BREAKER_MAX_PROBE_SECONDS', '5');
  vi.stubEnv('STOP_LEDGER_TABLE', ledgerTable);
  vi.stubEnv('STOP_CONFIRM_QUEUE_URL', confirmQueueUrl);
  vi.stubEnv('CONFIRM_FIRST_CHECK_SECONDS', '1');
  vi.stubEnv('CONFIRM_WINDOW_SECONDS', String(CONFIRM_WINDOW_SECONDS));
  vi.stubEnv(
    'STALE_JOB_POLICY',
    JSON.stringify({ maxRunMinutes: 240, exclude: [{ namePattern: 'critical_*' }], maxStopsPerRun: 50 }),
  );
  bulkStop = ((await import('../../functions/bulk-stop.js')) as unknown as { handler: SqsHandler }).handler;
  confirmStops = ((await import('../../functions/confirm-stops.js')) as unknown as { handler: SqsHandler })
    .handler;
  reaper = ((await import('../../functions/stop-stale-jobs.js')) as unknown as { handler: typeof reaper })
    .handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

describe(`soak: ${MESSAGES} stop requests through SQS with faults and token expiry`, () => {
  it(
    'stops every running job or dead-letters its message, loses nothing, and never stops the wrong job',
    async () => {
      // Prepare: the mix of what producers send
      const counts = {
        finished: Math.ceil(MESSAGES * 0.02),
        frozen: Math.ceil(MESSAGES * 0.005),
        invalid: Math.ceil(MESSAGES * 0.01),
        missing: Math.ceil(MESSAGES * 0.01),
        duplicates: Math.ceil(MESSAGES * 0.025),
      };
      const targets = MESSAGES - Object.values(counts).reduce((a, b) => a + b, 0);
      const add = (
        name: string,
        status: JobRecord['status'],
        minutes = 5,
        type: JobRecord['type'] = 'METADATA_MIGRATION',
      ) =>
        emulator.store.add(INSTANCE, {
          name,
          type: type as 'METADATA_MIGRATION',
          status,
          startedMinutesAgo: minutes,
        });
      const running = Array.from({ length: targets - STUBBORN }, (_, i) => add(`soak_${i}`, 'RUNNING'));
      const stubborn = Array.from({ length: STUBBORN }, (_, i) =>
        emulator.store.add(INSTANCE, {
          name: `stubborn_${i}`,
          type: 'METADATA_MIGRATION',
          status: 'RUNNING',
          startedMinutesAgo: 5,
          neverStops: true,
        }),
      );
      const finished = Array.from({ length: counts.finished }, (_, i) =>
        add(`done_${i}`, (['SUCCESS', 'FAILED', 'STOPPED'] as const)[i % 3] ?? 'SUCCESS'),
      );
      const frozen = Array.from({ length: counts.frozen }, (_, i) => add(`frozen_${i}`, 'FROZEN_RELEASABLE'));
      // Another type: the list API reaches only 2,000 jobs per type and status, and the soak's own
      // running migrations fill that window.
      const stale = Array.from({ length: 20 }, (_, i) =>
        add(`stale_${i}`, 'RUNNING', 500, 'METADATA_DISCOVERY'),
      );
      const excluded = Array.from({ length: 10 }, (_, i) =>
        add(`critical_${i}`, 'RUNNING', 5000, 'METADATA_DISCOVERY'),
      );
      const notRunningIds = new Set([...finished, ...frozen].map((job) => job.id));

      const messages = [
        ...[...running, ...stubborn].map((job, i) => ({
          jobId: job.id,
          reason: `soak #${i}`,
          source: 'soak',
        })),
        ...running
          .slice(0, counts.duplicates)
          .map((job, i) => ({ jobId: job.id, reason: `soak duplicate #${i}`, source: 'soak' })),
        ...[...finished, ...frozen].map((job, i) => ({
          jobId: job.id,
          reason: `soak not running #${i}`,
          source: 'soak',
        })),
        ...Array.from({ length: counts.missing }, (_, i) => ({
          jobId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          reason: `soak missing #${i}`,
          source: 'soak',
        })),
      ];
      const invalidBodies = Array.from({ length: counts.invalid }, (_, i) =>
        i % 2 ? `{"jobId": "bad/${i}"}` : `not json #${i}`,
      );
      const sentBodies = new Set([...messages.map((m) => JSON.stringify(m)), ...invalidBodies]);
      expect(sentBodies.size).toBe(MESSAGES);

      emulator.faults.configure({
        random: {
          seed: 2026,
          rates: { '408': 0.05, '429': 0.05, '500': 0.05, reset: 0.04 },
          latencySpike: { rate: 0.01, ms: 300 },
        },
      });
      let expiries = 0;
      const expiry = setInterval(() => {
        emulator.expireTokens();
        expiries += 1;
      }, TOKEN_EXPIRY_MS);
      const started = Date.now();
      const logs = captureLogs();

      // Act: producers send in waves while the consumers run (moto's SQS slows down with thousands
      // of messages waiting, as a real queue does not); one reaper run; consume until the queue is empty.
      const failedToEnqueue: unknown[] = [];
      let producing = true;
      const producingUntil = Date.now() + CONSUME_BUDGET_MS;
      const producer = (async () => {
        for (let i = 0; i < messages.length; i += PRODUCER_WAVE) {
          // the consumers give up at the budget's end: so does the producer (what it did not send is lost)
          while ((await depth(queueUrl)) > PRODUCER_WAVE * 2 && Date.now() < producingUntil)
            await new Promise((resolve) => setTimeout(resolve, 100));
          if (Date.now() >= producingUntil) break;
          failedToEnqueue.push(
            ...(await enqueueStops(queueUrl, messages.slice(i, i + PRODUCER_WAVE), sqs)).failed,
          );
        }
        for (let i = 0; i < invalidBodies.length; i += 10) {
          await sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: invalidBodies
                .slice(i, i + 10)
                .map((body, j) => ({ Id: String(j), MessageBody: body })),
            }),
          );
        }
        producing = false;
      })();
      let reaped: ReaperSummary | undefined;
      for (let attempt = 0; attempt < 5 && !reaped; attempt++) {
        reaped = await reaper(scheduledEvent(), lambdaContext(300_000)).catch(() => undefined);
      }
      // While the reaper's messages wait, some of those runs end and their jobs are started again:
      // the stops were meant for the old runs and must leave the new ones alone.
      const rerun = stale.slice(0, RERUN);
      for (const job of rerun) {
        job.status = 'SUCCESS';
        emulator.store.start(job);
      }

      const acknowledged = new Set<string>();
      const consumer: SqsHandler = async (event: SQSEvent, context) => {
        const response = (await bulkStop(event, context)) as SQSBatchResponse;
        const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        for (const record of event.Records) if (!failed.has(record.messageId)) acknowledged.add(record.body);
        return response;
      };
      const confirmer = startPoller({
        sqs,
        queueUrl: confirmQueueUrl,
        handler: confirmStops,
        functionName: 'confirmStops',
        concurrency: 2,
      });
      const until = Date.now() + CONSUME_BUDGET_MS;
      while (Date.now() < until && (producing || (await depth(queueUrl)) > 0)) {
        await Promise.all(
          Array.from({ length: POLLERS }, () =>
            pollOnce({ sqs, queueUrl, handler: consumer, waitTimeSeconds: 1 }),
          ),
        );
      }
      await producer;
      const elapsedMs = Date.now() - started;
      // the last checks: every accepted stop is confirmed, or STUCK at the end of its window
      const confirmUntil = Date.now() + (CONFIRM_WINDOW_SECONDS + 60) * 1000;
      while (Date.now() < confirmUntil && (await depth(confirmQueueUrl)) > 0)
        await new Promise((resolve) => setTimeout(resolve, 500));
      await confirmer.stop();
      clearInterval(expiry);
      const records = await ledgerRecords();
      const recordsOf = (jobId: string) => records.filter((record) => record.jobId === jobId);
      const acceptedRecords = (jobId: string) =>
        recordsOf(jobId).filter((record) => record.outcome === 'STOP_REQUESTED');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const dead = await drain(dlqUrl);
      const deadBodies = new Set(dead.map((m) => m.Body ?? ''));

      // Assess
      const lost = [...sentBodies].filter((body) => !acknowledged.has(body) && !deadBodies.has(body));
      const reaperBodies = [...acknowledged, ...deadBodies].filter((body) =>
        body.includes('"source":"stale-job-reaper"'),
      );
      const notStopped = [...running, ...stale.slice(RERUN)].filter(
        (job) =>
          emulator.store.get(INSTANCE, job.id)?.status !== 'STOPPED' &&
          ![...deadBodies].some((body) => body.includes(job.id)),
      );
      const wrongStops = emulator
        .requestsWhere({ operation: 'stopJob', status: 202 })
        .filter(
          (request) =>
            notRunningIds.has(request.jobId ?? '') || excluded.some((job) => job.id === request.jobId),
        );
      const laterRunsStopped = rerun.filter(
        (job) => job.stopsAccepted > 0 || emulator.store.get(INSTANCE, job.id)?.status !== 'RUNNING',
      );
      // a stop that never ends is sent once more at half its window, by design
      const stubbornIds = new Set(stubborn.map((job) => job.id));
      const duplicateStops = emulator.store
        .all()
        .filter((job) => !stubbornIds.has(job.id))
        .reduce((sum, job) => sum + Math.max(0, job.stopsAccepted - 1), 0);
      const stopped = emulator.store.all().filter((job) => job.stopsAccepted > 0);
      // each message with an outcome is a request of a record of its job
      const messagesPerJob = new Map<string, number>();
      for (const message of messages)
        messagesPerJob.set(message.jobId, (messagesPerJob.get(message.jobId) ?? 0) + 1);
      const unrecordedRequests = [...messagesPerJob].filter(
        ([jobId, sent]) => recordsOf(jobId).reduce((sum, r) => sum + r.requestCount, 0) < sent,
      );
      const byState = records.reduce<Record<string, number>>((acc, record) => {
        acc[record.state] = (acc[record.state] ?? 0) + 1;
        return acc;
      }, {});
      // SQS delivers at least once: a message can reach the DLQ twice; count distinct bodies.
      const dlqCodes = new Map(
        dead.map((m) => [m.Body ?? '', m.MessageAttributes?.errorCode?.StringValue ?? 'REDRIVEN']),
      );
      const dlqByCode = [...dlqCodes.values()].reduce<Record<string, number>>((acc, code) => {
        acc[code] = (acc[code] ?? 0) + 1;
        return acc;
      }, {});

      const retriesByCode = logs.lines
        .filter((line) => line.message === 'message will be retried')
        .reduce<Record<string, number>>((acc, line) => {
          acc[String(line.errorCode)] = (acc[String(line.errorCode)] ?? 0) + 1;
          return acc;
        }, {});
      const figures = {
        messages: MESSAGES,
        reaper: reaped,
        seconds: Math.round(elapsedMs / 100) / 10,
        faultsInjected: emulator.faults.injected,
        tokenExpiries: expiries,
        iamTokensIssued: emulator.tokensIssued,
        acknowledged: acknowledged.size,
        retriesByCode,
        deadLettered: dlqByCode,
        duplicateDlqDeliveries: dead.length - dlqCodes.size,
        lost: lost.length,
        notStoppedAndNotDeadLettered: notStopped.length,
        stopsOfExcludedOrNotRunningJobs: wrongStops.length,
        laterRunsStopped: laterRunsStopped.length,
        duplicateStopCalls: duplicateStops,
        records: records.length,
        recordsByState: byState,
        stopsWithoutOneRecord: stopped.filter((job) => acceptedRecords(job.id).length !== 1).length,
        unrecordedRequests: unrecordedRequests.length,
        stubbornStopsSentAgain: stubborn.filter(
          (job) => (emulator.store.get(INSTANCE, job.id)?.stopsAccepted ?? 0) > 1,
        ).length,
      };
      console.log(`soak: ${JSON.stringify(figures)}`);

      expect(failedToEnqueue).toEqual([]);
      expect(await depth(queueUrl)).toBe(0);
      expect(lost).toEqual([]);
      expect(reaped).toMatchObject({ stale: 20, excluded: 10, enqueued: 20, capped: false });
      expect(reaped?.unreachable).toBe(Math.max(0, targets - 2000));
      expect(new Set(reaperBodies.map((body) => JSON.parse(body).jobId))).toEqual(
        new Set(stale.map((job) => job.id)),
      );
      expect(notStopped.map((job) => job.name)).toEqual([]);
      expect(wrongStops).toEqual([]);
      expect(laterRunsStopped.map((job) => job.name)).toEqual([]);
      expect(excluded.map((job) => emulator.store.get(INSTANCE, job.id)?.status)).toEqual(
        excluded.map(() => 'RUNNING'),
      );
      // Missing and finished jobs get their outcome: nothing keeps failing until SQS redrives it.
      expect(dlqByCode.REDRIVEN).toBeUndefined();
      expect(dlqByCode.JOB_NOT_STOPPABLE).toBe(counts.frozen);
      expect((dlqByCode.INVALID_JSON ?? 0) + (dlqByCode.INVALID_ID ?? 0)).toBe(counts.invalid);
      expect(Object.values(emulator.faults.injected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(emulator.tokensIssued).toBeGreaterThan(1);
      // the ledger: one record per accepted stop, every request in it, each stop ended
      expect(duplicateStops).toBe(0);
      expect(stopped.filter((job) => acceptedRecords(job.id).length !== 1).map((job) => job.name)).toEqual(
        [],
      );
      expect(unrecordedRequests).toEqual([]);
      expect(records.filter((record) => record.state === 'REQUESTED')).toEqual([]);
      expect(
        stopped
          .filter((job) => !stubbornIds.has(job.id))
          .filter((job) => acceptedRecords(job.id)[0]?.state !== 'CONFIRMED')
          .map((job) => job.name),
      ).toEqual([]);
      expect(stubborn.map((job) => acceptedRecords(job.id).map((record) => record.state))).toEqual(
        stubborn.map(() => ['STUCK']),
      );
      // their stop, and once more at half the window when a check came by then
      expect(stubborn.map((job) => emulator.store.get(INSTANCE, job.id)?.stopsAccepted)).toEqual(
        stubborn.map(
          (job) => 1 + (acceptedRecords(job.id)[0]?.events.filter((e) => e === 'Stop Retried').length ?? 0),
        ),
      );
      expect(await depth(confirmQueueUrl)).toBe(0);
    },
    CONSUME_BUDGET_MS + (CONFIRM_WINDOW_SECONDS + 180) * 1000,
  );
});

/** Every stop record of the soak's ledger table. */
async function ledgerRecords(): Promise<
  { jobId: string; state: string; outcome: string; requestCount: number; events: string[] }[]
> {
  const records = [];
  for await (const page of paginateScan({ client: new DynamoDBClient({}) }, { TableName: ledgerTable })) {
    for (const item of page.Items ?? []) {
      const data = unmarshall(item);
      if (String(data.pk).startsWith('STOP#'))
        records.push({
          jobId: String(data.jobId),
          state: String(data.state),
          outcome: String(data.outcome),
          requestCount: Number(data.requestCount),
          events: (data.events as { type: string }[]).map((event) => event.type),
        });
    }
  }
  return records;
}
