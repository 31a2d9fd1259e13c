import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { type BulkStopOptions, processStopBatch } from '../../lib/edge/queue/stop-batch.js';
import { metrics } from '../../lib/platform/metrics.js';
import { LakeFormationTimeoutError } from '../../lib/upstream/lakeformation/errors.js';
import { fakeClient, httpError } from '../support/fake-client.js';
import { captureLogs, emfTotals } from '../support/logs.js';

const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const OTHER = '7d3c1a52-0c6e-4f0e-9d7b-3b0e5d2f9a11';
const DLQ = 'http://127.0.0.1:1/123456789012/stop-dlq';
const sqsMock = mockClient(SQSClient);

function sample(name: 'sqs-stop-batch' | 'sqs-stop-invalid'): SQSRecord[] {
  const event = JSON.parse(
    readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8'),
  ) as SQSEvent;
  return event.Records;
}

/** SQS records with these bodies, ids `m1`, `m2`, … */
function records(...bodies: (string | object)[]): SQSRecord[] {
  const template = sample('sqs-stop-batch')[0] as SQSRecord;
  return bodies.map((body, i) => ({
    ...template,
    messageId: `m${i + 1}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }));
}

function options(overrides: Partial<BulkStopOptions> = {}): BulkStopOptions {
  return {
    client: fakeClient(),
    sqs: new SQSClient({}),
    dlqUrl: DLQ,
    defaultInstanceId: INSTANCE,
    allowedInstanceIds: new Set([INSTANCE, OTHER]),
    concurrency: 10,
    deadline: Date.now() + 60_000,
    ...overrides,
  };
}

/** The DLQ entries sent, flattened across batches. */
function deadLettered() {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => ({
      body: entry.MessageBody,
      errorCode: entry.MessageAttributes?.errorCode?.StringValue,
      errorMessage: entry.MessageAttributes?.errorMessage?.StringValue,
    }));
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('Function: processStopBatch()', () => {
  describe('outcomes', () => {
    it('acknowledges STOP_REQUESTED, NOT_RUNNING and NOT_FOUND and reports no failure', async () => {
      // Prepare
      const client = fakeClient({
        stop: (jobId) =>
          jobId === 'running' ? 'accept' : jobId === 'done' ? httpError(400) : httpError(404),
        jobs: { done: { status: 'SUCCESS' } },
      });

      // Act
      const { response, reports } = await processStopBatch(
        records({ jobId: 'running' }, { jobId: 'done' }, { jobId: 'gone' }),
        options({ client }),
      );

      // Assess
      expect(response.batchItemFailures).toEqual([]);
      expect(reports.map((r) => [r.disposition, r.outcome, r.status])).toEqual([
        ['acknowledged', 'STOP_REQUESTED', undefined],
        ['acknowledged', 'NOT_RUNNING', 'SUCCESS'],
        ['acknowledged', 'NOT_FOUND', undefined],
      ]);
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    });

    it('acknowledges RUN_CHANGED without stopping the later run, logging which run the job is on', async () => {
      const logs = captureLogs();
      const client = fakeClient({
        jobs: { rerun: { status: 'RUNNING', startTime: Date.parse('2026-05-27T13:00:00Z') } },
      });
      const { response } = await processStopBatch(
        records({ jobId: 'rerun', source: 'stale-job-reaper', runStartedAt: '2026-05-27T10:04:35.743Z' }),
        options({ client }),
      );
      expect(response.batchItemFailures).toEqual([]);
      expect(client.calls.filter((c) => c.op === 'stopJob')).toEqual([]);
      expect(logs.lines.find((line) => line.messageId === 'm1')).toMatchObject({
        disposition: 'acknowledged',
        outcome: 'RUN_CHANGED',
        status: 'RUNNING',
        runStartedAt: '2026-05-27T10:04:35.743Z',
        detail: "the job's run started at 2026-05-27T13:00:00.000Z, not 2026-05-27T10:04:35.743Z",
      });
      expect(deadLettered()).toEqual([]);
    });

    it('sends NOT_STOPPABLE to the DLQ with its original body and the reason, and acknowledges it', async () => {
      const client = fakeClient({
        stop: httpError(409, 'LF.9', 'frozen'),
        jobs: { frozen: { status: 'FROZEN_RELEASABLE' } },
      });
      const batch = records('{"jobId":"frozen",  "source":"ops"}');

      const { response } = await processStopBatch(batch, options({ client }));

      expect(response.batchItemFailures).toEqual([]);
      expect(deadLettered()).toEqual([
        {
          body: '{"jobId":"frozen",  "source":"ops"}',
          errorCode: 'JOB_NOT_STOPPABLE',
          errorMessage: expect.stringContaining('FROZEN_RELEASABLE'),
        },
      ]);
    });

    it.each([
      ['throttling', httpError(429, 'APIG.0308'), 'THROTTLED'],
      ['a 5xx', httpError(500), 'UPSTREAM_ERROR'],
      ['a timeout', new LakeFormationTimeoutError('stopJob', 100), 'UPSTREAM_TIMEOUT'],
      ['refused credentials', httpError(401, 'APIG.1002'), 'CREDENTIALS_REJECTED'],
    ])('reports %s as a batch item failure, not to the DLQ', async (_name, error, code) => {
      const { response, reports } = await processStopBatch(
        records({ jobId: 'a' }, { jobId: 'b' }),
        options({ client: fakeClient({ stop: (jobId) => (jobId === 'a' ? error : 'accept') }) }),
      );
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
      expect(reports[0]).toMatchObject({ disposition: 'retry', errorCode: code });
      expect(deadLettered()).toEqual([]);
    });
  });

  it('retries, never acknowledges as NOT_FOUND, the stops of an instance LakeFormation does not have', async () => {
    const client = fakeClient({
      stop: httpError(404, 'common.01000001'),
      list: httpError(404, 'common.01000001'),
    });

    const { response, reports } = await processStopBatch(
      records({ jobId: 'a' }, { jobId: 'b', instanceId: OTHER }),
      options({ client }),
    );

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    expect(reports.map((r) => [r.disposition, r.errorCode])).toEqual([
      ['retry', 'UPSTREAM_ERROR'],
      ['retry', 'UPSTREAM_ERROR'],
    ]);
    expect(reports[1]?.errorMessage).toContain(`no instance ${OTHER}`);
  });

  describe('messages that can never succeed', () => {
    it('sends each invalid sample message to the DLQ at once, unchanged, with errorCode and errorMessage', async () => {
      const batch = sample('sqs-stop-invalid');
      const client = fakeClient();

      const { response } = await processStopBatch(batch, options({ client }));

      expect(response.batchItemFailures).toEqual([]);
      expect(client.calls).toHaveLength(0);
      expect(deadLettered()).toEqual([
        { body: batch[0]?.body, errorCode: 'INVALID_JSON', errorMessage: expect.any(String) },
        { body: batch[1]?.body, errorCode: 'INVALID_MESSAGE', errorMessage: 'unknown field(s): job' },
        { body: batch[2]?.body, errorCode: 'INVALID_ID', errorMessage: expect.stringContaining('jobId') },
        {
          body: batch[3]?.body,
          errorCode: 'INSTANCE_NOT_ALLOWED',
          errorMessage: expect.stringContaining('ffffffff'),
        },
      ]);
    });

    it('builds its SQS client only for a batch with something to dead-letter', async () => {
      const makeClient = vi.fn(() => new SQSClient({}));

      await processStopBatch(records({ jobId: 'running' }, { jobId: 'other' }), options({ sqs: makeClient }));
      const builtWithoutDeadLetters = makeClient.mock.calls.length;
      await processStopBatch(records({ jobId: 'running' }, 'not json'), options({ sqs: makeClient }));

      expect(builtWithoutDeadLetters).toBe(0);
      expect(makeClient).toHaveBeenCalledTimes(1);
      expect(deadLettered()).toEqual([
        expect.objectContaining({ body: 'not json', errorCode: 'INVALID_JSON' }),
      ]);
    });

    it.each([
      ['an array', '[]'],
      ['a missing jobId', '{"reason":"x"}'],
      ['a numeric jobId', '{"jobId": 12}'],
      ['a reason over 256 characters', JSON.stringify({ jobId: 'a', reason: 'r'.repeat(257) })],
      ['a non-string source', '{"jobId":"a","source":{}}'],
      ['an empty body', ''],
    ])('dead-letters %s', async (_name, body) => {
      const { response, reports } = await processStopBatch(records(body), options());
      expect(response.batchItemFailures).toEqual([]);
      expect(reports[0]?.disposition).toBe('dead-lettered');
      expect(deadLettered()).toHaveLength(1);
    });

    it('keeps the errorMessage attribute to characters SQS takes, and to 1024 of them', async () => {
      const client = fakeClient({
        stop: httpError(409, 'LF.1', `frozen ${'🧊'.repeat(2000)}`),
        jobs: { frozen: { status: 'FROZEN_RELEASABLE' } },
      });
      const batch = records('{"\\u0001job\\u0000":"a"}', { jobId: 'frozen' });

      await processStopBatch(batch, options({ client }));

      const [invalid, frozen] = deadLettered();
      expect(invalid).toMatchObject({
        body: batch[0]?.body,
        errorMessage: 'unknown field(s): \uFFFDjob\uFFFD',
      });
      expect([...(frozen?.errorMessage ?? '')]).toHaveLength(1024);
      expect(frozen?.errorMessage).toMatch(/🧊$/u);
    });

    it('reports a message as a failure when its DLQ entry is refused, so SQS retries it', async () => {
      sqsMock.on(SendMessageBatchCommand).resolves({
        Successful: [{ Id: '1', MessageId: 'x', MD5OfMessageBody: 'x' }],
        Failed: [{ Id: '0', Code: 'InvalidParameterValue', SenderFault: true, Message: 'no' }],
      });
      const { response } = await processStopBatch(records('bad json', '{"jobId": "../x"}'), options());
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    });

    it('reports every dead letter as a failure when the DLQ cannot be reached', async () => {
      sqsMock
        .on(SendMessageBatchCommand)
        .rejects(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
      const { response } = await processStopBatch(records('bad json', { jobId: 'fine' }, '[]'), options());
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }]);
    });

    it('re-sends DLQ entries a batch reports as failed for a server-side reason', async () => {
      sqsMock
        .on(SendMessageBatchCommand)
        .resolvesOnce({
          Successful: [],
          Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false, Message: 'retry' }],
        })
        .resolves({ Successful: [], Failed: [] });
      const { response } = await processStopBatch(records('bad json'), options());
      expect(response.batchItemFailures).toEqual([]);
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
    });
  });

  describe("dead letters within SQS's size limits", () => {
    /** A message's size as SQS counts it: body, and each attribute's name, data type and value, in UTF-8. */
    const sqsBytes = (entry: Partial<SendMessageBatchRequestEntry>) =>
      Object.entries(entry.MessageAttributes ?? {}).reduce(
        (sum, [name, value]) =>
          sum +
          Buffer.byteLength(name) +
          Buffer.byteLength(value.DataType ?? '') +
          Buffer.byteLength(value.StringValue ?? ''),
        Buffer.byteLength(entry.MessageBody ?? ''),
      );
    /** An invalid message (its reason is far too long) of `bytes` bytes of UTF-8, mostly "€". */
    const invalidOfBytes = (bytes: number, tail = '') => {
      const frame = JSON.stringify({ jobId: 'a', reason: tail });
      const filler = bytes - Buffer.byteLength(frame);
      return JSON.stringify({
        jobId: 'a',
        reason: `${'€'.repeat(Math.floor(filler / 3))}${'e'.repeat(filler % 3)}${tail}`,
      });
    };
    const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

    it('splits ten dead letters of ~250 KiB into calls of at most 256 KiB each, attributes included, all unchanged', async () => {
      const bodies = Array.from({ length: 10 }, (_, i) => invalidOfBytes(250 * 1024 + i));

      const { response, reports } = await processStopBatch(records(...bodies), options());

      expect(response.batchItemFailures).toEqual([]);
      expect(reports.every((report) => report.disposition === 'dead-lettered')).toBe(true);
      const calls = sqsMock
        .commandCalls(SendMessageBatchCommand)
        .map((call) => call.args[0].input.Entries ?? []);
      for (const entries of calls) {
        expect(entries.reduce((sum, entry) => sum + sqsBytes(entry), 0)).toBeLessThanOrEqual(262_144);
      }
      const sent = calls.flat();
      expect(sent.map((entry) => entry.MessageBody)).toEqual(bodies);
      for (const entry of sent) {
        expect(Object.keys(entry.MessageAttributes ?? {}).sort()).toEqual(['errorCode', 'errorMessage']);
        expect(entry.MessageAttributes?.errorCode?.StringValue).toBe('INVALID_MESSAGE');
      }
    });

    it.each([
      ['a body that fits SQS alone but not with its attributes', 262_100],
      ['a body larger than 256 KiB', 700_000],
    ])(
      'trims %s to a valid UTF-8 prefix that fits, with what identifies the original',
      async (_name, bytes) => {
        // a 4-byte character at the cut: a cut inside it would not be valid UTF-8
        const body = invalidOfBytes(bytes, '🧊'.repeat(30_000));
        const batch = records({ jobId: 'fine' }, body);

        const { response, reports } = await processStopBatch(batch, options());

        expect(response.batchItemFailures).toEqual([]);
        expect(reports[1]).toMatchObject({ disposition: 'dead-lettered', errorCode: 'INVALID_MESSAGE' });
        const [entry] = sqsMock
          .commandCalls(SendMessageBatchCommand)
          .flatMap((call) => call.args[0].input.Entries ?? []);
        const trimmed = entry?.MessageBody ?? '';
        expect(sqsBytes(entry ?? {})).toBeLessThanOrEqual(262_144);
        expect(sqsBytes(entry ?? {})).toBeGreaterThan(262_144 - 4); // as much of the body as fits
        expect(body.startsWith(trimmed)).toBe(true);
        expect(Buffer.from(trimmed, 'utf8').toString('utf8')).toBe(trimmed);
        expect(trimmed).not.toMatch(/[\uD800-\uDBFF]$/); // no pair cut in half
        expect(
          Object.fromEntries(
            Object.entries(entry?.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
          ),
        ).toEqual({
          errorCode: 'INVALID_MESSAGE',
          errorMessage: reports[1]?.errorMessage,
          bodyTrimmed: 'true',
          originalMessageId: 'm2',
          originalBodyBytes: String(Buffer.byteLength(body)),
          originalBodySha256: sha256(body),
        });
        expect(Object.values(entry?.MessageAttributes ?? {}).map((value) => value.DataType)).toEqual(
          Array(6).fill('String'),
        );
      },
    );

    it('sends dead letters that fit as they are, next to one that had to be trimmed', async () => {
      const big = invalidOfBytes(262_144);

      await processStopBatch(records('not json', big, '[]'), options());

      const sent = sqsMock
        .commandCalls(SendMessageBatchCommand)
        .flatMap((call) => call.args[0].input.Entries ?? []);
      expect(
        sent.map((entry) => [
          entry.MessageBody?.length === big.length,
          entry.MessageAttributes?.bodyTrimmed?.StringValue,
        ]),
      ).toEqual([
        [false, undefined],
        [false, 'true'],
        [false, undefined],
      ]);
      expect(deadLettered().map((letter) => letter.body)).toEqual(['not json', expect.any(String), '[]']);
    });
  });

  describe('duplicates', () => {
    it('makes one LakeFormation call for the same job twice in a batch, and gives both messages its outcome', async () => {
      const client = fakeClient();
      const { reports } = await processStopBatch(
        records(
          { jobId: 'same', source: 'a' },
          { jobId: 'same', instanceId: INSTANCE, source: 'b' },
          { jobId: 'same', instanceId: OTHER },
        ),
        options({ client }),
      );
      expect(client.calls.filter((c) => c.op === 'stopJob').map((c) => c.instanceId)).toEqual([
        INSTANCE,
        OTHER,
      ]);
      expect(reports.map((r) => [r.outcome, r.source])).toEqual([
        ['STOP_REQUESTED', 'a'],
        ['STOP_REQUESTED', 'b'],
        ['STOP_REQUESTED', undefined],
      ]);
    });

    it('treats messages for different runs of a job (or for any run) as different stops', async () => {
      const run = '2026-05-27T10:04:35.743Z';
      const client = fakeClient({ jobs: { same: { status: 'RUNNING', startTime: Date.parse(run) } } });
      const { reports } = await processStopBatch(
        records(
          { jobId: 'same', runStartedAt: run },
          { jobId: 'same', runStartedAt: '2026-05-27T18:04:35.743+08:00' }, // the same instant
          { jobId: 'same', runStartedAt: '2026-05-26T10:04:35.743Z' },
          { jobId: 'same' },
        ),
        options({ client }),
      );
      expect(client.calls.filter((c) => c.op === 'getJob')).toHaveLength(2);
      expect(client.calls.filter((c) => c.op === 'stopJob')).toHaveLength(2);
      expect(reports.map((r) => [r.disposition, r.outcome])).toEqual([
        ['acknowledged', 'STOP_REQUESTED'],
        ['acknowledged', 'STOP_REQUESTED'],
        ['acknowledged', 'RUN_CHANGED'],
        ['acknowledged', 'STOP_REQUESTED'],
      ]);
    });

    it('reports both duplicates as failures when their one call fails', async () => {
      const { response } = await processStopBatch(
        records({ jobId: 'same' }, { jobId: 'same' }),
        options({ client: fakeClient({ stop: httpError(503) }) }),
      );
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    });
  });

  describe('concurrency and deadline', () => {
    it('keeps at most STOP_CONCURRENCY stop calls in flight', async () => {
      let inFlight = 0;
      let peak = 0;
      const client = fakeClient({
        stop: async () => {
          inFlight += 1;
          peak = Math.max(peak, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight -= 1;
          return 'accept' as const;
        },
      });
      const batch = records(...Array.from({ length: 20 }, (_, i) => ({ jobId: `job-${i}` })));

      const { response } = await processStopBatch(batch, options({ client, concurrency: 3 }));

      expect(peak).toBe(3);
      expect(response.batchItemFailures).toEqual([]);
      expect(client.calls.filter((c) => c.op === 'stopJob')).toHaveLength(20);
    });

    it('starts no job near the deadline and reports the unstarted messages as failures', async () => {
      let clock = 0;
      const client = fakeClient({
        stop: async () => {
          clock += 600; // each stop takes 600 ms of (virtual) time
          return 'accept' as const;
        },
      });
      const batch = records({ jobId: 'a' }, { jobId: 'b' }, { jobId: 'c' }, { jobId: 'd' });

      const { response, reports } = await processStopBatch(
        batch,
        options({ client, concurrency: 1, deadline: 2_000, minItemMs: 1_000, now: () => clock }),
      );

      // a starts at 0, b at 600; at 1200 only 800 ms are left: c and d are not started
      expect(client.calls.map((c) => c.jobId)).toEqual(['a', 'b']);
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm3' }, { itemIdentifier: 'm4' }]);
      expect(reports[2]).toMatchObject({ disposition: 'retry', errorCode: 'DEADLINE' });
    });

    it('passes the deadline to the LakeFormation calls', async () => {
      const client = fakeClient();
      const deadline = Date.now() + 987_654;
      await processStopBatch(records({ jobId: 'a' }), options({ client, deadline }));
      expect(client.calls[0]?.deadline).toBe(deadline);
    });
  });

  describe('logging', () => {
    it('writes one line per message with its fields, and a batch summary', async () => {
      const logs = captureLogs();
      const client = fakeClient({ stop: (jobId) => (jobId === 'x' ? httpError(500) : 'accept') });

      await processStopBatch(
        records({ jobId: 'ok', source: 'cli', reason: 'because' }, { jobId: 'x' }, 'junk'),
        options({ client }),
      );

      const perMessage = logs.lines
        .filter((line) => typeof line.messageId === 'string')
        .sort((a, b) => String(a.messageId).localeCompare(String(b.messageId)));
      expect(perMessage.map((line) => [line.messageId, line.disposition])).toEqual([
        ['m1', 'acknowledged'],
        ['m2', 'retry'],
        ['m3', 'dead-lettered'],
      ]);
      expect(perMessage[0]).toMatchObject({
        jobId: 'ok',
        instanceId: INSTANCE,
        outcome: 'STOP_REQUESTED',
        source: 'cli',
        reason: 'because',
      });
      expect(logs.lines.find((line) => line.message === 'batch processed')?.summary).toEqual({
        messages: 3,
        acknowledged: 1,
        deadLettered: 1,
        retry: 1,
        STOP_REQUESTED: 1,
      });
    });
  });

  it('counts every message once in the EMF metrics: outcome, dead-lettered or retried', async () => {
    const client = fakeClient({
      stop: (jobId) =>
        jobId === 'job-timeout'
          ? new LakeFormationTimeoutError('stopJob', 100)
          : jobId === 'job-frozen'
            ? httpError(409)
            : jobId === 'job-done'
              ? httpError(400)
              : 'accept',
      jobs: {
        'job-frozen': { status: 'FROZEN_RELEASABLE' },
        'job-done': { status: 'SUCCESS' },
        'job-rerun': { status: 'RUNNING', startTime: Date.UTC(2026, 4, 27, 13) },
      },
    });
    metrics.clearMetrics(); // what earlier tests stored without a handler to publish it
    const logs = captureLogs();

    await processStopBatch(
      records(
        { jobId: 'job-a' },
        { jobId: 'job-b' },
        { jobId: 'job-done' },
        { jobId: 'job-frozen' },
        { jobId: 'job-timeout' },
        { jobId: 'job-rerun', runStartedAt: '2026-05-27T10:00:00Z' },
        'not json',
      ),
      options({ client }),
    );
    metrics.publishStoredMetrics();

    expect(emfTotals(logs.lines)).toEqual({
      StopRequested: 2,
      NotRunning: 1,
      NotStoppable: 1,
      RunChanged: 1,
      DeadLettered: 2,
      RetryableFailure: 1,
    });
  });

  it('records a large batch as one value per metric, published in one EMF line', async () => {
    metrics.clearMetrics();
    const logs = captureLogs();
    const jobs = Array.from({ length: 250 }, (_, i) => ({ jobId: `job-${i}` }));

    await processStopBatch(
      records(...jobs, 'not json'),
      options({ client: fakeClient({ stop: () => 'accept' }) }),
    );
    metrics.publishStoredMetrics();

    const emf = logs.lines.filter((line) => '_aws' in line);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ StopRequested: 250, DeadLettered: 1 });
  });
});
