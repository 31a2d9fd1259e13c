import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { createStopQueues } from '../../local/queues.js';
import { startPoller } from '../../local/sqs-poller.js';
import { createFunctionSecrets, queueDepth, recordPutEvents, uniqueName, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator } from '../support/emulator.js';
import { forJob, httpEvent, parse, withBearer } from '../support/http.js';
import { lambdaContext } from '../support/lambda.js';
import { captureLogs, emfTotals, registerSecret } from '../support/logs.js';

const BEARER = 'confirm-bearer-token';
registerSecret(BEARER);

type Handler = (event: never, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let emulator: LakeFormationEmulator;
let stopJob: Handler;
let poller: { stop: () => Promise<void> };
let busName: string;
let sqs: SQSClient;
let confirmQueueUrl: string;
/** Every PutEvents entry sent, as EventBridge got it. */
let published: { DetailType?: string; Detail?: string }[] = [];

beforeAll(async () => {
  useMoto();
  emulator = await testEmulator({ stopDelayMs: 0 });
  const { credentialsSecret, webhookSecret } = await createFunctionSecrets('confirm', {
    bearerTokens: [BEARER],
  });
  sqs = new SQSClient({});
  const confirm = await createStopQueues(sqs, { name: uniqueName('confirm'), visibilityTimeoutSeconds: 2 });
  confirmQueueUrl = confirm.queueUrl;
  busName = uniqueName('confirm-bus');
  await new EventBridgeClient({}).send(new CreateEventBusCommand({ Name: busName }));
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) vi.stubEnv(key, value);
  vi.stubEnv('HUAWEICLOUD_CREDENTIALS_SECRET_ID', credentialsSecret);
  vi.stubEnv('WEBHOOK_SECRET_ID', webhookSecret);
  vi.stubEnv('STOP_CONFIRM_QUEUE_URL', confirm.queueUrl);
  vi.stubEnv('STOP_EVENT_BUS_NAME', busName);
  // scaled down: the first check after 1 s, STUCK after 12 s
  vi.stubEnv('CONFIRM_FIRST_CHECK_SECONDS', '1');
  vi.stubEnv('CONFIRM_WINDOW_SECONDS', '12');
  // a failed check is back after 1-2 s; the breaker probes every 1-2 s
  vi.stubEnv('RETRY_BASE_SECONDS', '1');
  vi.stubEnv('RETRY_MAX_SECONDS', '2');
  vi.stubEnv('BREAKER_FIRST_PROBE_SECONDS', '1');
  vi.stubEnv('BREAKER_MAX_PROBE_SECONDS', '2');
  ({ handler: stopJob } = (await import('../../functions/stop-job.js')) as unknown as { handler: Handler });
  const { handler: confirmStops } = (await import('../../functions/confirm-stops.js')) as unknown as {
    handler: (event: never, context: unknown) => Promise<{ batchItemFailures: [] }>;
  };
  poller = startPoller({
    sqs,
    queueUrl: confirm.queueUrl,
    handler: confirmStops as never,
    functionName: 'confirmStops',
    concurrency: 2,
  });
});

afterAll(async () => {
  await poller.stop();
  vi.unstubAllEnvs();
  await emulator.close();
});

beforeEach(async () => {
  emulator.faults.clear();
  resetContainer();
  published = await recordPutEvents();
});

async function stop(jobId: string): Promise<string> {
  const event = withBearer(forJob(httpEvent('http-stop-job-bearer'), jobId), BEARER) as StopJobEvent;
  const answer = parse(await stopJob(event as never, lambdaContext(20_000)));
  expect(answer.statusCode).toBe(202);
  return String(answer.body.stopId);
}

/** The stop's record once `done` holds for it (polled from the ledger through the read function). */
async function recordWhen(
  stopId: string,
  done: (record: Record<string, unknown>) => boolean,
  timeoutMs = 20_000,
) {
  const { getLedger } = await import('../../lib/container/container.js');
  const until = Date.now() + timeoutMs;
  for (;;) {
    const record = (await getLedger().getStop(stopId, Date.now())) as unknown as Record<string, unknown>;
    if (record && done(record)) return record;
    if (Date.now() > until) throw new Error(`stop ${stopId} never got there: ${JSON.stringify(record)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const eventsOf = (stopId: string) =>
  published.filter((entry) => entry.Detail?.includes(stopId)).map((entry) => entry.DetailType);
const checks = (record: Record<string, unknown>) =>
  (record.events as { type: string }[]).filter((event) => event.type === 'Confirmation Check').length;
const job = (extra: Record<string, unknown> = {}) =>
  emulator.store.add(INSTANCE, {
    name: 'confirm_target',
    type: 'METADATA_MIGRATION',
    status: 'RUNNING',
    ...extra,
  });

describe('confirmation of accepted stops (confirm queue with DelaySeconds on moto, the emulator)', () => {
  it('confirms a stop at its first check, with its event', async () => {
    const stopId = await stop(job().id);
    const record = await recordWhen(stopId, (r) => r.state === 'CONFIRMED');
    expect(checks(record)).toBe(0);
    // the record is written before its event is published
    await expect.poll(() => eventsOf(stopId)).toEqual(['Stop Requested', 'Stop Confirmed']);
    const confirmed = published.find((e) => e.DetailType === 'Stop Confirmed' && e.Detail?.includes(stopId));
    expect(JSON.parse(confirmed?.Detail ?? '{}')).toMatchObject({
      stopId,
      state: 'CONFIRMED',
      status: 'STOPPED',
      eventId: expect.any(String),
      at: expect.any(String),
    });
  });

  it('confirms a stop that takes a while after several checks, each after twice the last delay', async () => {
    // checks at about 1 s, 3 s and 7 s after the stop; the job stops at 5 s, before half the window (6 s)
    const target = job({ stopDelayMs: 5_000 });
    const stopId = await stop(target.id);
    const record = await recordWhen(stopId, (r) => r.state === 'CONFIRMED');
    const made = (
      record.events as { type: string; detail?: { status?: string; nextCheckSeconds?: number } }[]
    )
      .filter((e) => e.type === 'Confirmation Check')
      .map((e) => e.detail);
    // three checks or more: at least two found it running, then one found it stopped
    expect(made.length).toBeGreaterThanOrEqual(2);
    expect(made.slice(0, 2)).toEqual([
      { status: 'RUNNING', nextCheckSeconds: 2 },
      { status: 'RUNNING', nextCheckSeconds: 4 },
    ]);
    expect(record.events).toContainEqual(
      expect.objectContaining({
        type: 'Stop Confirmed',
        detail: expect.objectContaining({ status: 'STOPPED' }),
      }),
    );
    expect(emulator.store.get(INSTANCE, target.id)?.stopsAccepted).toBe(1);
  });

  it('sends the stop once more at half the window, then confirms it', async () => {
    const stubborn = job({ neverStops: true });
    const stopId = await stop(stubborn.id);
    await recordWhen(stopId, (r) => (r.events as { type: string }[]).some((e) => e.type === 'Stop Retried'));
    const record = emulator.store.get(INSTANCE, stubborn.id);
    expect(record?.stopsAccepted).toBe(2);
    if (record) record.neverStops = false; // the second stop takes effect
    const confirmed = await recordWhen(stopId, (r) => r.state === 'CONFIRMED');
    // the record is written before its event is published
    await expect.poll(() => eventsOf(stopId)).toEqual(['Stop Requested', 'Stop Retried', 'Stop Confirmed']);
    expect(confirmed.state).toBe('CONFIRMED');
  });

  it('sends the stop again once when the check after it cannot be queued and SQS delivers the check again', async () => {
    // the first check that would carry retried: true fails to be sent
    const send = SQSClient.prototype.send;
    let refused = 0;
    let queuedAfterHalfway = 0;
    vi.spyOn(SQSClient.prototype, 'send').mockImplementation(function (this: unknown, command: unknown) {
      const body = (command as { input?: { MessageBody?: string } }).input?.MessageBody;
      const afterHalfway = command instanceof SendMessageCommand && body?.includes('"retried":true');
      if (afterHalfway && refused === 0) {
        refused += 1;
        return Promise.reject(new Error('SQS unavailable'));
      }
      const sent = Reflect.apply(send, this, [command]) as Promise<unknown>;
      if (!afterHalfway) return sent;
      return sent.then((answer) => {
        queuedAfterHalfway += 1;
        return answer;
      });
    } as typeof send);
    const stubborn = job({ neverStops: true });
    const stopId = await stop(stubborn.id);

    // the check delivered again has queued its next one (and so is done with the stop)
    await expect.poll(() => queuedAfterHalfway, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
    const retried = await recordWhen(stopId, (r) =>
      (r.events as { type: string }[]).some((e) => e.type === 'Stop Retried'),
    );
    expect(refused).toBe(1);
    const target = emulator.store.get(INSTANCE, stubborn.id);
    if (target) target.neverStops = false;
    const record = await recordWhen(stopId, (r) => r.state === 'CONFIRMED');
    expect(emulator.store.get(INSTANCE, stubborn.id)?.stopsAccepted).toBe(2);
    expect((record.events as { type: string }[]).filter((e) => e.type === 'Stop Retried')).toHaveLength(1);
    // the record is written before its event is published
    await expect.poll(() => eventsOf(stopId)).toEqual(['Stop Requested', 'Stop Retried', 'Stop Confirmed']);
    // the check at half the window was made twice (delivered again); the stop was sent again once
    const halfway = (retried.events as { type: string; detail?: { stopAgain?: boolean } }[]).filter(
      (e) => e.type === 'Confirmation Check' && e.detail?.stopAgain,
    );
    expect(halfway).toHaveLength(2);
  });

  it('confirms a stop that named no run once the job is on a new run, and never stops that run', async () => {
    // the stop names no run (the webhook body has no runStartedAt); the job stops, and is started
    // again between two checks: the check after that must not take the new run for the one stopped
    const target = job({ neverStops: true });
    const stopId = await stop(target.id);
    const first = await recordWhen(stopId, (r) => checks(r) >= 1);
    await expect.poll(() => Date.now() - Date.parse(String(first.createdAt))).toBeGreaterThan(1_100);
    const running = emulator.store.get(INSTANCE, target.id);
    if (!running) throw new Error('the job is gone');
    running.neverStops = false;
    emulator.store.start(running);
    const newRun = running.startTime;

    const record = await recordWhen(stopId, (r) => r.state === 'CONFIRMED');
    expect(record.events).toContainEqual(
      expect.objectContaining({
        type: 'Stop Confirmed',
        detail: {
          why: 'another run',
          status: 'RUNNING',
          newRunStartedAt: new Date(newRun ?? 0).toISOString(),
        },
      }),
    );
    expect((record.events as { type: string }[]).map((e) => e.type)).not.toContain('Stop Retried');
    expect(emulator.store.get(INSTANCE, target.id)).toMatchObject({ status: 'RUNNING', stopsAccepted: 1 });
  });

  it('flags a stop STUCK at the end of the window, with its event and metric', async () => {
    const logs = captureLogs();
    const stopId = await stop(job({ neverStops: true }).id);
    const record = await recordWhen(stopId, (r) => r.state === 'STUCK');
    // the event goes out after the record is written: under load it can come a moment later
    await expect.poll(() => eventsOf(stopId), { timeout: 5_000 }).toContain('Stop Stuck');
    // at least this stop's (another test's stubborn job may end in the same window); the metrics are
    // published when the confirm function's invocation ends, after its events
    await expect
      .poll(() => emfTotals(logs.lines).StopStuck ?? 0, { timeout: 5_000 })
      .toBeGreaterThanOrEqual(1);
    expect(record.events).toContainEqual(expect.objectContaining({ type: 'Stop Stuck' }));
  });

  it('retries a check whose job read fails, and loses none', async () => {
    const target = job({ stopDelayMs: 0 });
    emulator.faults.configure({
      script: [{ fault: '500', times: 8, match: { method: 'GET', path: target.id } }],
    });
    const stopId = await stop(target.id);
    const record = await recordWhen(stopId, (r) => r.state === 'CONFIRMED', 30_000);
    expect(record.state).toBe('CONFIRMED');
    expect(emulator.faults.injected['500']).toBeGreaterThanOrEqual(8);
  });

  it('writes the record of an accepted stop whose own write failed from its check, and confirms it', async () => {
    // every write of the stop's record by the stop function fails (it tries 4 times)
    let failRecordWrites = true;
    let refused = 0;
    const send = DynamoDBClient.prototype.send;
    vi.spyOn(DynamoDBClient.prototype, 'send').mockImplementation(function (this: unknown, command: unknown) {
      if (
        failRecordWrites &&
        command instanceof PutItemCommand &&
        command.input.Item?.pk?.S?.startsWith('STOP#')
      ) {
        refused += 1;
        return Promise.reject(
          Object.assign(new Error('Internal server error'), { name: 'InternalServerError' }),
        );
      }
      return Reflect.apply(send, this, [command]);
    } as typeof send);
    const logs = captureLogs();
    const target = job({ stopDelayMs: 1_500 });

    const stopId = await stop(target.id);
    failRecordWrites = false;
    const { getLedger } = await import('../../lib/container/container.js');
    expect(await getLedger().getStop(stopId, Date.now())).toBeUndefined();
    expect(refused).toBe(4);

    const record = await recordWhen(stopId, (r) => r.state === 'CONFIRMED');
    expect(record).toMatchObject({
      stopId,
      jobId: target.id,
      instanceId: INSTANCE,
      outcome: 'STOP_REQUESTED',
      requestCount: 1,
      requests: [
        expect.objectContaining({
          source: 'webhook',
          caller: 'bearer:0',
          reason: 'runaway migration paged by on-call',
        }),
      ],
    });
    expect(record.events).toEqual([
      expect.objectContaining({
        type: 'Stop Requested',
        at: record.createdAt,
        detail: { outcome: 'STOP_REQUESTED', recordedBy: 'confirmation check' },
      }),
      ...(record.events as unknown[])
        .slice(1, -1)
        .map(() => expect.objectContaining({ type: 'Confirmation Check' })),
      expect.objectContaining({ type: 'Stop Confirmed' }),
    ]);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'the accepted stop had no record: written from its confirmation check',
        stopId,
      }),
    );
    expect(emfTotals(logs.lines).LedgerWriteFailed).toBe(1);
    expect(emulator.store.get(INSTANCE, target.id)?.stopsAccepted).toBe(1);
    // the job's claim is let go, as for any confirmed stop
    expect(
      await getLedger().readClaim({ instanceId: INSTANCE, jobId: target.id }, Date.now()),
    ).toBeUndefined();
  });

  it('leaves the record intact when events cannot be published', async () => {
    const logs = captureLogs();
    vi.stubEnv('STOP_EVENT_BUS_NAME', 'no-such-bus');
    resetContainer();
    const target = job();
    const stopId = await stop(target.id);
    vi.stubEnv('STOP_EVENT_BUS_NAME', busName);
    // the stop function's Stop Requested went nowhere; the confirm function (its own bus) confirms it
    const record = await recordWhen(stopId, (r) => r.state === 'CONFIRMED');
    expect(record).toMatchObject({ outcome: 'STOP_REQUESTED', requestCount: 1 });
    expect((record.events as { type: string }[]).map((e) => e.type)).toEqual([
      'Stop Requested',
      'Stop Confirmed',
    ]);
    expect(emfTotals(logs.lines).EventPublishFailed).toBe(1);
    expect(emulator.store.get(INSTANCE, target.id)?.stopsAccepted).toBe(1);
    await expect.poll(() => eventsOf(stopId)).toEqual(['Stop Requested', 'Stop Confirmed']);
  });

  it("ends a stop CONFIRMED or STUCK when the confirm function's events cannot be published, with no stop or check made twice", async () => {
    // the bus fails every Stop Confirmed (an entry failure, each send) and Stop Stuck (the call fails)
    const sentToBus: PutEventsRequestEntry[] = [];
    vi.spyOn(EventBridgeClient.prototype, 'send').mockImplementation((async (command: {
      input: { Entries?: PutEventsRequestEntry[] };
    }) => {
      const entries = command.input.Entries ?? [];
      sentToBus.push(...entries);
      if (entries.some((entry) => entry.DetailType === 'Stop Stuck')) {
        throw Object.assign(new Error('Event bus unavailable'), { name: 'InternalException' });
      }
      return {
        FailedEntryCount: entries.filter((entry) => entry.DetailType === 'Stop Confirmed').length,
        Entries: entries.map((entry, i) =>
          entry.DetailType === 'Stop Confirmed'
            ? { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal failure' }
            : { EventId: `ok-${i}` },
        ),
      };
    }) as never);
    const logs = captureLogs();
    // the queued checks, as the functions sent them
    const queued: string[] = [];
    const send = SQSClient.prototype.send;
    vi.spyOn(SQSClient.prototype, 'send').mockImplementation(function (this: unknown, command: unknown) {
      if (command instanceof SendMessageCommand) queued.push(String(command.input.MessageBody));
      return Reflect.apply(send, this, [command]);
    } as typeof send);
    const quick = job({ stopDelayMs: 2_500 });
    const stubborn = job({ neverStops: true });
    const [quickStop, stubbornStop] = await Promise.all([stop(quick.id), stop(stubborn.id)]);

    const confirmed = await recordWhen(quickStop, (r) => r.state === 'CONFIRMED');
    const stuck = await recordWhen(stubbornStop, (r) => r.state === 'STUCK');
    // every check was made and acknowledged: nothing is left to be delivered again
    await expect.poll(() => queueDepth(sqs, confirmQueueUrl), { timeout: 10_000 }).toBe(0);

    const typesOf = (record: Record<string, unknown>) =>
      (record.events as { type: string }[]).map((e) => e.type);
    const again = (n: number) => Array.from({ length: n }, () => 'Confirmation Check');
    expect(typesOf(confirmed)).toEqual(['Stop Requested', ...again(checks(confirmed)), 'Stop Confirmed']);
    expect(typesOf(await recordWhen(stubbornStop, () => true))).toEqual(typesOf(stuck));
    expect(typesOf(stuck).filter((type) => type === 'Stop Stuck')).toHaveLength(1);
    expect(typesOf(stuck).filter((type) => type === 'Stop Retried')).toHaveLength(1);
    // each check queued once: its count of checks made before it is never repeated
    for (const [stopId, record] of [
      [quickStop, confirmed],
      [stubbornStop, stuck],
    ] as const) {
      const counts = queued.filter((body) => body.includes(stopId)).map((body) => JSON.parse(body).checks);
      expect(counts).toEqual(Array.from({ length: checks(record) + 1 }, (_, i) => i));
    }
    expect(emulator.store.get(INSTANCE, quick.id)?.stopsAccepted).toBe(1);
    expect(emulator.store.get(INSTANCE, stubborn.id)?.stopsAccepted).toBe(2);
    // Stop Confirmed sent 3 times (the same event), Stop Stuck once; both counted as not published
    const confirmedSends = sentToBus.filter((e) => e.DetailType === 'Stop Confirmed');
    expect(confirmedSends).toHaveLength(3);
    expect(new Set(confirmedSends.map((e) => e.Detail)).size).toBe(1);
    expect(emfTotals(logs.lines).EventPublishFailed).toBe(2);
  });
});
