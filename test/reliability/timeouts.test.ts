import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import { enqueueStops } from '../../lib/domain/enqueue.js';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { createStopQueues } from '../../local/queues.js';
import { pollOnce, type SqsHandler } from '../../local/sqs-poller.js';
import { createFunctionSecrets, uniqueName, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator } from '../support/emulator.js';
import { forJob, httpEvent, parse, scheduledEvent, signed } from '../support/http.js';
import { lambdaContext } from '../support/lambda.js';
import { registerSecret } from '../support/logs.js';

/** With LakeFormation hanging, every function ends before its Lambda timeout, and queued stops survive. */
const HMAC_KEY = 'timeouts-hmac-key';
registerSecret(HMAC_KEY);

let emulator: LakeFormationEmulator;
let sqs: SQSClient;
let queueUrl: string;
let stopJob: (event: StopJobEvent, context: Context) => Promise<unknown>;
let bulkStop: SqsHandler;
let reaper: (event: ScheduledEvent, context: Context) => Promise<unknown>;

beforeAll(async () => {
  useMoto();
  sqs = new SQSClient({});
  const queues = await createStopQueues(sqs, { name: uniqueName('timeouts'), visibilityTimeoutSeconds: 1 });
  queueUrl = queues.queueUrl;
  const dlqUrl = queues.dlqUrl;
  emulator = await testEmulator({ stopDelayMs: 10 });
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) vi.stubEnv(key, value);
  const { webhookSecret } = await createFunctionSecrets('timeouts', {
    hmacKeys: [HMAC_KEY],
    bearerTokens: [],
  });
  vi.stubEnv('WEBHOOK_SECRET_ID', webhookSecret);
  vi.stubEnv('STOP_DLQ_URL', dlqUrl);
  vi.stubEnv('STOP_QUEUE_URL', queueUrl);
  vi.stubEnv('STALE_JOB_POLICY', '{}');
  // retried messages back after 1-2 s, breaker probes every second (scaled down)
  vi.stubEnv('RETRY_BASE_SECONDS', '1');
  vi.stubEnv('RETRY_MAX_SECONDS', '2');
  vi.stubEnv('BREAKER_FIRST_PROBE_SECONDS', '1');
  vi.stubEnv('BREAKER_MAX_PROBE_SECONDS', '1');
  stopJob = ((await import('../../functions/stop-job.js')) as unknown as { handler: typeof stopJob }).handler;
  bulkStop = ((await import('../../functions/bulk-stop.js')) as unknown as { handler: SqsHandler }).handler;
  reaper = ((await import('../../functions/stop-stale-jobs.js')) as unknown as { handler: typeof reaper })
    .handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

beforeEach(() => {
  resetContainer();
  emulator.faults.configure({ script: [{ fault: 'hang', times: 100_000 }] });
});

describe('timeouts: LakeFormation hangs', () => {
  it.each(['lakeformation', 'iam'] as const)(
    'the HTTP function answers 504 before its timeout when %s hangs',
    async (target) => {
      emulator.faults.configure({ script: [{ fault: 'hang', times: 100_000, match: { target } }] });
      const job = emulator.store.add(INSTANCE, {
        name: `hang_${target}`,
        type: 'METADATA_MIGRATION',
        status: 'RUNNING',
      });
      const timeoutMs = 4_000;
      const started = Date.now();

      const response = parse(
        await stopJob(
          signed(forJob(httpEvent('http-stop-job-signed'), job.id, INSTANCE), HMAC_KEY),
          lambdaContext(timeoutMs),
        ),
      );

      expect(response.statusCode).toBe(504);
      expect(Date.now() - started).toBeLessThan(timeoutMs);
      expect(job.stopsAccepted).toBe(0);
    },
  );

  it('the reaper fails before its timeout', async () => {
    const timeoutMs = 13_000; // its deadline keeps 10 s back
    const started = Date.now();
    await expect(reaper(scheduledEvent(), lambdaContext(timeoutMs))).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(timeoutMs);
  });

  it('the queue function returns before its timeout with every in-flight stop as a failure, and they are stopped once LakeFormation recovers', async () => {
    const jobs = Array.from({ length: 5 }, (_, i) =>
      emulator.store.add(INSTANCE, {
        name: `hang_queue_${i}`,
        type: 'METADATA_MIGRATION',
        status: 'RUNNING',
      }),
    );
    await enqueueStops(
      queueUrl,
      jobs.map((job) => ({ jobId: job.id, source: 'timeouts' })),
      sqs,
    );
    const timeoutMs = 8_000; // its deadline keeps 5 s back
    const started = Date.now();

    const hung = await pollOnce({
      sqs,
      queueUrl,
      handler: bulkStop,
      waitTimeSeconds: 1,
      functionTimeoutMs: timeoutMs,
    });

    expect(Date.now() - started).toBeLessThan(timeoutMs);
    expect(hung).toMatchObject({ received: 5, deleted: 0, failed: 5 });

    emulator.faults.clear();
    let deleted = 0;
    for (let i = 0; i < 20 && deleted < 5; i++) {
      deleted += (
        await pollOnce({ sqs, queueUrl, handler: bulkStop, waitTimeSeconds: 1, functionTimeoutMs: timeoutMs })
      ).deleted;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(deleted).toBe(5);
    expect(jobs.map((job) => emulator.store.get(INSTANCE, job.id)?.status)).toEqual(
      jobs.map(() => 'STOPPED'),
    );
  });
});
