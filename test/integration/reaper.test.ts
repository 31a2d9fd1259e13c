import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWatchTable } from '../../lib/domain/ledger/watches.js';
import type { ReaperSummary } from '../../lib/domain/reaper/reaper.js';
import { runStart } from '../../lib/domain/run-watch.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import type { JobRecord } from '../../local/emulator/store.js';
import {
  createFunctionSecrets,
  createTestLedger,
  drainQueue,
  recordPutEvents,
  uniqueName,
  useMoto,
} from '../support/aws.js';
import { emulatorEnv, INSTANCE, OTHER_INSTANCE, testEmulator } from '../support/emulator.js';
import { lambdaContext } from '../support/lambda.js';
import { captureLogs, emfTotals } from '../support/logs.js';

const scheduled = JSON.parse(
  readFileSync(new URL('../../events/schedule.json', import.meta.url), 'utf8'),
) as ScheduledEvent;

let emulator: LakeFormationEmulator;
let sqs: SQSClient;
let queueUrl: string;
const expected = new Map<string, string>();

const drain = () => drainQueue(sqs, queueUrl);

/** A fresh cold start of the reaper with `policy`. */
async function reaper(
  policy: unknown,
): Promise<(event: ScheduledEvent, context: Context) => Promise<ReaperSummary>> {
  vi.resetModules();
  vi.stubEnv('STALE_JOB_POLICY', JSON.stringify(policy));
  const module = (await import('../../functions/stop-stale-jobs.js')) as unknown as {
    handler: (event: ScheduledEvent, context: Context) => Promise<ReaperSummary>;
  };
  return module.handler;
}

const POLICY = {
  maxRunMinutes: 240,
  rules: [{ match: { namePattern: 'nightly_*', type: 'METADATA_DISCOVERY' }, maxRunMinutes: 600 }],
  exclude: [{ namePattern: 'critical_*' }],
};

beforeAll(async () => {
  useMoto();
  sqs = new SQSClient({});
  queueUrl =
    (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('reaper-stop') }))).QueueUrl ?? '';
  // Both documented-in-examples shapes: `{"status": "..."}` and microsecond timestamps.
  emulator = await testEmulator({ statusShape: 'object', timestampPrecision: 'micros' });
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) vi.stubEnv(key, value);
  vi.stubEnv('STOP_QUEUE_URL', queueUrl);

  const add = (instanceId: string, seed: Parameters<typeof emulator.store.add>[1]): JobRecord =>
    emulator.store.add(instanceId, seed);
  const stale = (record: JobRecord, reason: string) => expected.set(record.id, reason);
  // 1200 running migrations, a few old ones spread across both pages (the API's offset stops at 1000).
  const oldAt = new Set([100, 500, 999, 1000, 1150]);
  for (let i = 0; i < 1200; i++) {
    const minutes = oldAt.has(i) ? 300 : 10;
    const record = add(INSTANCE, {
      name: `migration_${i}`,
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
      startedMinutesAgo: minutes,
    });
    if (oldAt.has(i)) stale(record, 'running 300 min > limit 240 min (default limit)');
  }
  add(INSTANCE, {
    name: 'critical_finance',
    type: 'METADATA_MIGRATION',
    status: 'RUNNING',
    startedMinutesAgo: 5000,
  });
  add(INSTANCE, {
    name: 'finished_long_ago',
    type: 'METADATA_MIGRATION',
    status: 'SUCCESS',
    startedMinutesAgo: 5000,
  });
  stale(
    add(INSTANCE, {
      name: 'ranger_sync',
      type: 'PERMISSION_MIGRATION',
      status: 'RUNNING',
      startedMinutesAgo: 260,
    }),
    'running 260 min > limit 240 min (default limit)',
  );
  add(INSTANCE, {
    name: 'ranger_young',
    type: 'PERMISSION_MIGRATION',
    status: 'RUNNING',
    startedMinutesAgo: 100,
  });
  add(INSTANCE, {
    name: 'nightly_discovery',
    type: 'METADATA_DISCOVERY',
    status: 'RUNNING',
    startedMinutesAgo: 500,
  });
  stale(
    add(INSTANCE, {
      name: 'nightly_discovery_2',
      type: 'METADATA_DISCOVERY',
      status: 'RUNNING',
      startedMinutesAgo: 700,
    }),
    'running 700 min > limit 600 min (rule: nightly_*)',
  );
  // on the other allowed instance, and one that only has a create_time
  stale(
    add(OTHER_INSTANCE, {
      name: 'other_instance_job',
      type: 'METADATA_DISCOVERY',
      status: 'RUNNING',
      startedMinutesAgo: 241,
    }),
    'running 241 min > limit 240 min (default limit)',
  );
  stale(
    add(OTHER_INSTANCE, {
      name: 'never_started',
      type: 'PERMISSION_MIGRATION',
      status: 'RUNNING',
      omitStartTime: true,
      createTime: Date.now() - 400 * 60_000,
    }),
    'running 400 min > limit 240 min (default limit)',
  );
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
});

beforeEach(async () => {
  await drain();
});

describe('stop-stale-jobs against the emulator and SQS on moto', () => {
  it('sends exactly the stale jobs to the stop queue, with reasons, across pages, types and instances', async () => {
    const handler = await reaper(POLICY);

    const summary = await handler(scheduled, lambdaContext(60_000));
    const messages = (await drain()).map((m) => JSON.parse(m.Body ?? '{}'));

    expect(new Map(messages.map((m) => [m.jobId, m.reason]))).toEqual(expected);
    // each names the run it judged (the emulator serves microseconds here), bar the one without start_time
    const runs = new Map(
      emulator.store
        .all()
        .filter((job) => expected.has(job.id))
        .map((job) => [
          job.id,
          job.startTime === undefined ? undefined : new Date(job.startTime).toISOString(),
        ]),
    );
    expect(new Map(messages.map((m) => [m.jobId, m.runStartedAt]))).toEqual(runs);
    expect([...runs.values()].filter((run) => run === undefined)).toHaveLength(1);
    expect(messages.every((m) => m.source === 'stale-job-reaper')).toBe(true);
    expect(messages.find((m) => m.reason.includes('400 min'))?.instanceId).toBe(OTHER_INSTANCE);
    expect(summary).toEqual({
      scanned: 1200 + 1 + 2 + 2 + 2,
      stale: expected.size,
      excluded: 1,
      enqueued: expected.size,
      warned: 0,
      waiting: 0,
      snoozed: 0,
      unreachable: 0,
      dryRun: false,
      capped: false,
    });
  });

  it('sends nothing on a dry run', async () => {
    const handler = await reaper({ ...POLICY, dryRun: true });
    const summary = await handler(scheduled, lambdaContext(60_000));
    expect(await drain()).toEqual([]);
    expect(summary).toMatchObject({ stale: expected.size, enqueued: 0, dryRun: true });
  });

  it('sends nothing when the stale jobs outnumber maxStopsPerRun, and publishes the metric the alarm reads', async () => {
    const handler = await reaper({ ...POLICY, maxStopsPerRun: expected.size - 1 });
    const logs = captureLogs();
    const published = await recordPutEvents();

    const summary = await handler(scheduled, lambdaContext(60_000));

    // the people topic's rule takes Reaper Capped
    expect(published.map((entry) => entry.DetailType)).toEqual(['Reaper Capped']);
    expect(JSON.parse(published[0]?.Detail ?? '{}')).toMatchObject({
      stale: expected.size,
      maxStopsPerRun: expected.size - 1,
    });

    expect(await drain()).toEqual([]);
    expect(summary).toMatchObject({ stale: expected.size, enqueued: 0, capped: true });
    // the reaper-capped alarm: namespace LfJobStopper, ReaperCapped, dimensions service and stage only
    const emf = logs.lines.filter((line) => line._aws !== undefined);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      service: 'lf-job-stopper',
      stage: 'local',
      ReaperCapped: 1,
      _aws: { CloudWatchMetrics: [{ Namespace: 'LfJobStopper', Dimensions: [['service', 'stage']] }] },
    });
    expect(emfTotals(logs.lines)).toMatchObject({ StaleJobs: expected.size, StopsEnqueued: 0 });
  });

  it('fails the cold start naming the field of an invalid policy', async () => {
    await expect(reaper({ rules: [{ match: { namePattern: 'x' }, maxRunMinutes: -1 }] })).rejects.toThrow(
      'STALE_JOB_POLICY: rules[0].maxRunMinutes',
    );
  });
});

describe('stop-stale-jobs warnings when the event bus fails (ledger, bus and secrets on moto)', () => {
  it('withdraws a warning whose Job Warned could not be published, and warns again once the bus is back', async () => {
    const tableName = await createTestLedger('reaper-warn');
    const { webhookSecret } = await createFunctionSecrets('reaper-warn', {
      bearerTokens: ['reaper-warn-bearer'],
      linkKeys: ['reaper-warn-link-key-of-32-characters-at-least'],
    });
    const busName = uniqueName('reaper-warn-bus');
    await new EventBridgeClient({}).send(new CreateEventBusCommand({ Name: busName }));
    vi.stubEnv('STOP_LEDGER_TABLE', tableName);
    vi.stubEnv('WEBHOOK_SECRET_ID', webhookSecret);
    vi.stubEnv('PUBLIC_BASE_URL', 'https://stopper.example');
    const job = emulator.store.add(INSTANCE, {
      name: 'warned_close',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
      startedMinutesAgo: 220,
    });
    // only this job is warned (limit 240, warned 30 min before); the others are as in the policy above
    const policy = {
      ...POLICY,
      rules: [{ match: { namePattern: 'warned_*' }, maxRunMinutes: 240, warnMinutes: 30 }, ...POLICY.rules],
    };
    const run = { instanceId: INSTANCE, jobId: job.id, runStartedAt: runStart(Number(job.startTime)) };
    const watches = createWatchTable({ tableName, retentionDays: 90, client: new DynamoDBClient({}) });

    vi.stubEnv('STOP_EVENT_BUS_NAME', uniqueName('no-such-bus'));
    const logs = captureLogs();
    const first = await (await reaper(policy))(scheduled, lambdaContext(60_000));
    expect(first).toMatchObject({ warned: 0 });
    expect((await watches.readWatch(run, Date.now()))?.warning).toBeUndefined();
    expect(logs.lines).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'warning withdrawn: its event could not be published; the next run warns again',
        jobId: job.id,
        withdrawn: true,
      }),
    );

    vi.stubEnv('STOP_EVENT_BUS_NAME', busName);
    const published = await recordPutEvents();
    const second = await (await reaper(policy))(scheduled, lambdaContext(60_000));
    expect(second).toMatchObject({ warned: 1 });
    expect((await watches.readWatch(run, Date.now()))?.warning).toMatchObject({ warnMinutes: 30 });
    expect(published.map((e) => [e.DetailType, JSON.parse(e.Detail ?? '{}').jobId])).toEqual([
      ['Job Warned', job.id],
    ]);
    await drain();
  });
});
