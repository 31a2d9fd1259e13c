import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enqueueStops } from '../../lib/domain/enqueue.js';
import { receivesDuringOutage } from '../../lib/domain/retry-policy.js';
import type { FetchLike } from '../../lib/upstream/transport/fetch-text.js';
import type { FlowControl } from '../../lib/upstream/transport/flow.js';
import { nodeFetch } from '../../lib/upstream/transport/node-fetch.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { createStopQueues } from '../../local/queues.js';
import { type SqsHandler, startPoller } from '../../local/sqs-poller.js';
import { createTestLedger, drainQueue, uniqueName, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator } from '../support/emulator.js';

/**
 * A LakeFormation outage through the real stop queue on moto, two containers polling it (as
 * Lambda with `queueMaxConcurrency` 2), time scaled down 150 times on the same code path:
 *
 * | setting                  | production | here  |
 * | ------------------------ | ---------- | ----- |
 * | back-off cap             | 600 s      | 4 s   |
 * | back-off base            | 30 s       | 1 s   |
 * | longest probe interval   | 300 s      | 2 s   |
 * | first probe interval     | 5 s        | 1 s   |
 * | outage                   | 24 h       | OUTAGE_RATIO × 4 s |
 * | made after recovery      | 15 min     | 6 s (+ what SQS and the poller add in real time) |
 *
 * The settings are whole seconds (SQS's unit), so the base and the first probe cannot shrink with
 * the rest. `OUTAGE_RATIO` is the outage over the back-off cap: 144 for 24 h against 600 s
 * (the full size), 10 in CI. The queue's maxReceiveCount is exactly what the arithmetic behind
 * serverless.yml's gives for the outage (every receive away at least half its back-off).
 */
const OUTAGE_RATIO = Number(process.env.OUTAGE_RATIO ?? 10);
const SCALE = 150;
const BACKOFF = { baseSeconds: 1, maxSeconds: 600 / SCALE };
const FIRST_PROBE_SECONDS = 1;
const MAX_PROBE_SECONDS = 300 / SCALE;
const OUTAGE_SECONDS = OUTAGE_RATIO * BACKOFF.maxSeconds;
const RECOVERY_BOUND_MS = ((15 * 60) / SCALE) * 1000;
/** What SQS and the poller add in real time, unscaled: a long poll of 1 s, the batch's own work, moto. */
const POLLING_SLACK_MS = 2_500;
const JOBS = 30;
const CONTAINERS = 2;
/** The flow control's defaults (lib/upstream/transport/flow.ts, lib/container/config.ts). */
const FAILURES_TO_OPEN = 5;
const STOP_CONCURRENCY = 10;

/** A LakeFormation call as one container made it, and how its breaker stood when it was made. */
interface Call {
  container: number;
  at: number;
  breaker: 'closed' | 'open' | 'probing';
}

let emulator: LakeFormationEmulator;
let sqs: SQSClient;
let queueUrl: string;
let dlqUrl: string;
const calls: Call[] = [];
/** How long a call may take from the container to the emulator on a loaded machine, at most. */
const ARRIVAL_SLACK_MS = 250;
const containers: SqsHandler[] = [];

/**
 * A container of its own (module state is per container): the real queue function, its
 * LakeFormation calls recorded on their way out with its breaker's state.
 */
async function startContainer(index: number): Promise<SqsHandler> {
  vi.resetModules();
  const { handler } = (await import('../../functions/bulk-stop.js')) as unknown as { handler: SqsHandler };
  const container = await import('../../lib/container/container.js');
  let flow: FlowControl | undefined;
  const recording: FetchLike = (url, init) => {
    if (!new URL(url).pathname.startsWith('/v3/auth/')) {
      calls.push({ container: index, at: Date.now(), breaker: flow?.state().breaker ?? 'closed' });
    }
    return nodeFetch(url, init);
  };
  container.resetContainer({ transport: recording });
  flow = container.getLakeFormationFlow();
  return handler;
}

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
  vi.stubEnv('STOP_CONCURRENCY', String(STOP_CONCURRENCY));
  vi.stubEnv('RETRY_BASE_SECONDS', String(BACKOFF.baseSeconds));
  vi.stubEnv('RETRY_MAX_SECONDS', String(BACKOFF.maxSeconds));
  vi.stubEnv('BREAKER_FIRST_PROBE_SECONDS', String(FIRST_PROBE_SECONDS));
  vi.stubEnv('BREAKER_MAX_PROBE_SECONDS', String(MAX_PROBE_SECONDS));
  for (let i = 0; i < CONTAINERS; i++) containers.push(await startContainer(i));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

/**
 * How one container's calls during the outage went: the burst before its breaker opened, then its
 * probes, each followed by the interval in force (the first probe interval doubled per failed probe,
 * up to the longest), and how many calls each of those intervals saw (the probe itself included).
 */
function probesOf(container: number, from: number, to: number) {
  const mine = calls.filter((call) => call.container === container && call.at >= from && call.at < to);
  const firstProbe = mine.findIndex((call) => call.breaker !== 'closed');
  const burst = firstProbe === -1 ? mine : mine.slice(0, firstProbe);
  const rest = firstProbe === -1 ? [] : mine.slice(firstProbe);
  const intervals = rest.map((call, k) => {
    const seconds = Math.min(MAX_PROBE_SECONDS, FIRST_PROBE_SECONDS * 2 ** (k + 1));
    const seen = rest.filter((other) => other.at >= call.at && other.at < call.at + seconds * 1000).length;
    return { seconds, calls: seen };
  });
  // the breaker opened on the fifth failure's answer, after the fifth call had started
  const fifth = burst[FAILURES_TO_OPEN - 1];
  const firstWaitMs = fifth && rest[0] ? rest[0].at - fifth.at : undefined;
  return {
    burst: burst.length,
    probes: rest.length,
    notProbes: rest.filter((call) => call.breaker !== 'probing').length,
    firstWaitMs,
    intervals,
  };
}

describe(`a LakeFormation outage of ${OUTAGE_SECONDS} s (${OUTAGE_RATIO} × the back-off cap, scaled) through the stop queue`, () => {
  it(
    'dead-letters nothing, makes every stop within the scaled 15 minutes of recovery, and lets each container call at most once per probe interval meanwhile',
    async () => {
      // Prepare: LakeFormation down; the stops queued; two containers polling, one batch at a time each
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
      const pollers = containers.map((handler) =>
        startPoller({ sqs, queueUrl, handler, concurrency: 1, waitTimeSeconds: 1 }),
      );

      // Act: the outage, then recovery
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_SECONDS * 1000));
      const recovered = Date.now();
      emulator.update({ outage: null });
      const madeAt = new Map<string, number>();
      while (madeAt.size < JOBS && Date.now() - recovered < 60_000) {
        for (const request of emulator.requests) {
          if (request.operation === 'stopJob' && request.status === 202 && request.jobId !== undefined)
            if (!madeAt.has(request.jobId)) madeAt.set(request.jobId, Date.parse(request.at));
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await Promise.all(pollers.map((poller) => poller.stop()));

      // Assess
      const during = emulator.requests.filter(
        (request) =>
          request.target === 'lakeformation' &&
          Date.parse(request.at) >= outageStart &&
          Date.parse(request.at) < recovered,
      );
      const perContainer = containers.map((_, i) => probesOf(i, outageStart, recovered));
      const slowest = Math.max(...[...madeAt.values()].map((at) => at - recovered));
      const dead = await drainQueue(sqs, dlqUrl);
      console.log(
        `outage: ${JSON.stringify({
          outageSeconds: OUTAGE_SECONDS,
          outageRatio: OUTAGE_RATIO,
          maxReceiveCount: receivesDuringOutage(OUTAGE_SECONDS, BACKOFF),
          callsDuringOutage: during.length,
          containers: perContainer.map(({ burst, probes, firstWaitMs, intervals }) => ({
            burst,
            probes,
            firstWaitMs,
            mostCallsInAnInterval: Math.max(0, ...intervals.map((interval) => interval.calls)),
            intervalsSeconds: [...new Set(intervals.map((interval) => interval.seconds))],
          })),
          made: madeAt.size,
          slowestAfterRecoveryMs: slowest,
          boundMs: RECOVERY_BOUND_MS + POLLING_SLACK_MS,
          deadLettered: dead.length,
        })}`,
      );

      // nothing dead-lettered; every stop made, once, within the scaled 15 minutes
      expect(dead).toEqual([]);
      expect(madeAt.size).toBe(JOBS);
      expect(slowest).toBeLessThanOrEqual(RECOVERY_BOUND_MS + POLLING_SLACK_MS);
      expect(jobs.map((job) => emulator.store.get(INSTANCE, job.id)?.stopsAccepted)).toEqual(
        jobs.map(() => 1),
      );
      // every LakeFormation call of the outage was a container's (the recording saw them all). A call
      // is recorded as it leaves and the emulator logs it as it arrives: one sent in the last moment
      // of the outage may arrive after it
      const sentDuring = (until: number) =>
        calls.filter((call) => call.at >= outageStart && call.at < until).length;
      expect(during.length).toBeLessThanOrEqual(sentDuring(recovered));
      expect(sentDuring(recovered - ARRIVAL_SLACK_MS)).toBeLessThanOrEqual(during.length);
      for (const { burst, probes, notProbes, firstWaitMs, intervals } of perContainer) {
        // before its breaker opened: the fifth failure's answer, and the calls in flight with it
        expect(burst).toBeLessThanOrEqual(FAILURES_TO_OPEN + STOP_CONCURRENCY - 1);
        // then only probes: the first one the first interval after the breaker opened, then one per
        // interval, doubling to the longest
        expect(probes).toBeGreaterThan(1);
        expect(notProbes).toBe(0);
        expect(firstWaitMs).toBeGreaterThanOrEqual(FIRST_PROBE_SECONDS * 1000);
        expect(intervals.map((interval) => interval.calls)).toEqual(intervals.map(() => 1));
      }
    },
    (OUTAGE_SECONDS + 180) * 1000,
  );
});
