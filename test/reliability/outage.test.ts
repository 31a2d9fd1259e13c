import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enqueueStops } from '../../lib/domain/enqueue.js';
import { receivesDuringOutage, worstWaitAfterRecoverySeconds } from '../../lib/domain/retry-policy.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { createStopQueues } from '../../local/queues.js';
import { type SqsHandler, startPoller } from '../../local/sqs-poller.js';
import { createTestLedger, drainQueue, uniqueName, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator } from '../support/emulator.js';

/**
 * A LakeFormation outage through the real stop queue on moto, time scaled down (the same code
 * path, with its settings in seconds): back-off from 1 s to 2 s (for 30 s to 600 s), breaker probes
 * every 1 s at most (for 300 s), and the queue's maxReceiveCount exactly what the arithmetic behind
 * serverless.yml's gives for the outage (every receive away at least half its back-off). Nothing may reach the DLQ; every stop must be made
 * within the scaled worst wait after recovery; during the outage the container's breaker lets at
 * most one LakeFormation call through per probe interval.
 */
const OUTAGE_SECONDS = Number(process.env.OUTAGE_SECONDS ?? 40);
const BACKOFF = { baseSeconds: 1, maxSeconds: 2 };
const MAX_PROBE_SECONDS = 1;
const JOBS = 30;
/** What SQS and the poller add to a message's wait: a long poll of 1 s and the batch's own work. */
const POLLING_SLACK_MS = 2_500;

let emulator: LakeFormationEmulator;
let sqs: SQSClient;
let queueUrl: string;
let dlqUrl: string;
let bulkStop: SqsHandler;

beforeAll(async () => {
  useMoto();
  sqs = new SQSClient({});
  ({ queueUrl, dlqUrl } = await createStopQueues(sqs, {
    name: uniqueName('outage'),
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: receivesDuringOutage(OUTAGE_SECONDS, BACKOFF),
  }));
  emulator = await testEmulator({ stopDelayMs: 0 });
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) vi.stubEnv(key, value);
  vi.stubEnv('STOP_QUEUE_URL', queueUrl);
  vi.stubEnv('STOP_DLQ_URL', dlqUrl);
  vi.stubEnv('STOP_LEDGER_TABLE', await createTestLedger('outage'));
  vi.stubEnv('RETRY_BASE_SECONDS', String(BACKOFF.baseSeconds));
  vi.stubEnv('RETRY_MAX_SECONDS', String(BACKOFF.maxSeconds));
  vi.stubEnv('BREAKER_FIRST_PROBE_SECONDS', '1');
  vi.stubEnv('BREAKER_MAX_PROBE_SECONDS', String(MAX_PROBE_SECONDS));
  bulkStop = ((await import('../../functions/bulk-stop.js')) as unknown as { handler: SqsHandler }).handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

describe(`a LakeFormation outage of ${OUTAGE_SECONDS} s (scaled) through the stop queue`, () => {
  it('dead-letters nothing, makes every stop soon after recovery, and probes at most once per interval meanwhile', async () => {
    // Prepare: LakeFormation down; the stops queued; one container polling, as Lambda would
    const jobs = Array.from({ length: JOBS }, (_, i) =>
      emulator.store.add(INSTANCE, { name: `outage_${i}`, type: 'METADATA_MIGRATION', status: 'RUNNING' }),
    );
    emulator.update({ outage: { status: 503 } });
    const outageStart = Date.now();
    expect(
      (
        await enqueueStops(
          queueUrl,
          jobs.map((job) => ({ jobId: job.id, source: 'outage' })),
          sqs,
        )
      ).failed,
    ).toEqual([]);
    const poller = startPoller({ sqs, queueUrl, handler: bulkStop, concurrency: 1, waitTimeSeconds: 1 });

    // Act: the outage, then recovery
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_SECONDS * 1000));
    const recovered = Date.now();
    emulator.update({ outage: null });
    const stoppedAt = new Map<string, number>();
    while (stoppedAt.size < JOBS && Date.now() - recovered < 60_000) {
      for (const job of jobs)
        if (!stoppedAt.has(job.id) && emulator.store.get(INSTANCE, job.id)?.status === 'STOPPED')
          stoppedAt.set(job.id, Date.now());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await poller.stop();

    // Assess
    const during = emulator.requests.filter(
      (request) =>
        request.operation === 'stopJob' &&
        Date.parse(request.at) >= outageStart &&
        Date.parse(request.at) < recovered,
    );
    // the breaker opens after 5 failures in a row; from then on one probe per interval at most
    const afterOpen = during.slice(5);
    const intervals = Math.ceil((recovered - outageStart) / (MAX_PROBE_SECONDS * 1000));
    const worstWaitMs =
      worstWaitAfterRecoverySeconds(BACKOFF, {
        maxProbeSeconds: MAX_PROBE_SECONDS,
        // the emulator fails at once, and a batch here takes well under a second: counted in the slack
        callSeconds: 0,
        invocationSeconds: 0,
        visibilityTimeoutSeconds: 0,
        pollSeconds: 1,
      }) *
        1000 +
      POLLING_SLACK_MS;
    const slowest = Math.max(...[...stoppedAt.values()].map((at) => at - recovered));
    const dead = await drainQueue(sqs, dlqUrl);
    console.log(
      `outage: ${JSON.stringify({
        outageSeconds: OUTAGE_SECONDS,
        maxReceiveCount: receivesDuringOutage(OUTAGE_SECONDS, BACKOFF),
        callsDuringOutage: during.length,
        probeIntervals: intervals,
        stopped: stoppedAt.size,
        slowestAfterRecoveryMs: slowest,
        worstWaitMs,
        deadLettered: dead.length,
      })}`,
    );

    expect(dead).toEqual([]);
    expect(stoppedAt.size).toBe(JOBS);
    expect(slowest).toBeLessThanOrEqual(worstWaitMs);
    expect(afterOpen.length).toBeLessThanOrEqual(intervals);
    expect(jobs.map((job) => emulator.store.get(INSTANCE, job.id)?.stopsAccepted)).toEqual(jobs.map(() => 1));
  });
});
