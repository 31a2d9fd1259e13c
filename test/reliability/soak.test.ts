import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enqueueStops } from '../../lib/domain/enqueue.js';
import type { ReaperSummary } from '../../lib/domain/reaper/reaper.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import type { JobRecord } from '../../local/emulator/store.js';
import { createStopQueues } from '../../local/queues.js';
import { pollOnce, type SqsHandler } from '../../local/sqs-poller.js';
import { drainQueue, queueDepth, uniqueName, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator } from '../support/emulator.js';
import { scheduledEvent } from '../support/http.js';
import { lambdaContext } from '../support/lambda.js';

/**
 * Soak: SOAK_MESSAGES stop requests (default 1,000 for CI; `npm run test:soak` runs 10,000) through SQS on
 * moto and the local poller, with ~20 % transient faults and the token expiring every few seconds,
 * plus a reaper run with exclusions, some of whose jobs are started again while their stop waits.
 * Nothing may be lost; nothing excluded or not running, and no later run, may be stopped.
 */
const MESSAGES = Number(process.env.SOAK_MESSAGES ?? 1000);
const TOKEN_EXPIRY_MS = 3_000;
const POLLERS = 4;
const PRODUCER_WAVE = 200;
/** Stale jobs started again after the reaper queued their stop. */
const RERUN = 5;

let emulator: LakeFormationEmulator;
let sqs: SQSClient;
let queueUrl: string;
let dlqUrl: string;
let bulkStop: SqsHandler;
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
  vi.stubEnv(
    'STALE_JOB_POLICY',
    JSON.stringify({ maxRunMinutes: 240, exclude: [{ namePattern: 'critical_*' }], maxStopsPerRun: 50 }),
  );
  bulkStop = ((await import('../../functions/bulk-stop.js')) as unknown as { handler: SqsHandler }).handler;
  reaper = ((await import('../../functions/stop-stale-jobs.js')) as unknown as { handler: typeof reaper })
    .handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

describe(`soak: ${MESSAGES} stop requests through SQS with faults and token expiry`, () => {
  it('stops every running job or dead-letters its message, loses nothing, and never stops the wrong job', async () => {
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
    const running = Array.from({ length: targets }, (_, i) => add(`soak_${i}`, 'RUNNING'));
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
      ...running.map((job, i) => ({ jobId: job.id, reason: `soak #${i}`, source: 'soak' })),
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

    // Act: producers send in waves while the consumers run (moto's SQS slows down with thousands
    // of messages waiting, as a real queue does not); one reaper run; consume until the queue is empty.
    const failedToEnqueue: unknown[] = [];
    let producing = true;
    const producer = (async () => {
      for (let i = 0; i < messages.length; i += PRODUCER_WAVE) {
        while ((await depth(queueUrl)) > PRODUCER_WAVE * 2)
          await new Promise((resolve) => setTimeout(resolve, 100));
        failedToEnqueue.push(
          ...(await enqueueStops(queueUrl, messages.slice(i, i + PRODUCER_WAVE), sqs)).failed,
        );
      }
      for (let i = 0; i < invalidBodies.length; i += 10) {
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: invalidBodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })),
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
    const until = Date.now() + 540_000;
    while (Date.now() < until && (producing || (await depth(queueUrl)) > 0)) {
      await Promise.all(
        Array.from({ length: POLLERS }, () =>
          pollOnce({ sqs, queueUrl, handler: consumer, waitTimeSeconds: 1 }),
        ),
      );
    }
    await producer;
    clearInterval(expiry);
    const elapsedMs = Date.now() - started;
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
    const duplicateStops = emulator.store
      .all()
      .reduce((sum, job) => sum + Math.max(0, job.stopsAccepted - 1), 0);
    // SQS delivers at least once: a message can reach the DLQ twice; count distinct bodies.
    const dlqCodes = new Map(
      dead.map((m) => [m.Body ?? '', m.MessageAttributes?.errorCode?.StringValue ?? 'REDRIVEN']),
    );
    const dlqByCode = [...dlqCodes.values()].reduce<Record<string, number>>((acc, code) => {
      acc[code] = (acc[code] ?? 0) + 1;
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
      deadLettered: dlqByCode,
      duplicateDlqDeliveries: dead.length - dlqCodes.size,
      lost: lost.length,
      notStoppedAndNotDeadLettered: notStopped.length,
      stopsOfExcludedOrNotRunningJobs: wrongStops.length,
      laterRunsStopped: laterRunsStopped.length,
      duplicateStopCalls: duplicateStops,
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
  });
});
