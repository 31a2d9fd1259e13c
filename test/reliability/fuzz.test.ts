import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRunStartedAt } from '../../lib/domain/stop-request.js';
import { signature } from '../../lib/edge/http/caller-auth.js';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import { processStopBatch } from '../../lib/edge/queue/stop-batch.js';
import { isValidId } from '../../lib/upstream/lakeformation/ids.js';
import { fakeClient } from '../support/fake-client.js';
import { httpEvent } from '../support/http.js';
import { registerSecret } from '../support/logs.js';
import { offlineStopJob } from '../support/stop-job-offline.js';

/**
 * Property-based fuzzing of both entry points that take outside input. Runs per property: FUZZ_RUNS
 * (default 300; `npm run test:soak` sets 2000).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const OTHER = '7d3c1a52-0c6e-4f0e-9d7b-3b0e5d2f9a11';
const HMAC_KEY = 'fuzz-hmac-key';
const BEARER = 'fuzz-bearer-token';
registerSecret(HMAC_KEY, BEARER, 'fuzz-password');

const inputsTried: Record<string, number> = {};

const { upstream, invoke } = offlineStopJob({
  instanceId: INSTANCE,
  allowedInstanceIds: OTHER,
  password: 'fuzz-password',
  keys: { hmacKeys: [HMAC_KEY], bearerTokens: [BEARER] },
});

type Auth = 'bearer' | 'hmac' | 'bad-bearer' | 'bad-hmac' | 'stale-hmac' | 'none';
type BodyKind =
  | 'empty'
  | 'reason'
  | 'run'
  | 'long-reason'
  | 'unknown-field'
  | 'not-json'
  | 'array'
  | 'oversized'
  | 'binary';

const idArb = fc.oneof(
  fc.uuid(),
  fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/),
  fc.string({ maxLength: 80 }),
  fc.constantFrom('..', '../x', 'a/b', 'job 1', '%2e%2e', 'x'.repeat(65), '', 'ÿ', 'a\u0000b'),
);

/** The start of the run LakeFormation reports for every job read here. */
const RUN = Date.UTC(2026, 4, 27, 10, 4, 35, 743);
upstream.onGet = (jobId) => ({
  status: 200,
  body: { id: jobId, status: 'RUNNING', start_time: new Date(RUN).toISOString() },
});

/** One instant in the spellings a producer may use: UTC, +08:00, microseconds, no zone (UTC). */
function spell(at: number, style: 'utc' | 'offset' | 'micros' | 'no-zone'): string {
  const iso = new Date(at).toISOString();
  if (style === 'offset') return new Date(at + 8 * 3_600_000).toISOString().replace('Z', '+08:00');
  if (style === 'micros') return iso.replace('Z', '219Z');
  return style === 'no-zone' ? iso.slice(0, -1) : iso;
}

/** A `runStartedAt` value and, when it is a valid one, the instant it names (by construction). */
const runArb: fc.Arbitrary<{ value: unknown; at?: number }> = fc.oneof(
  fc
    .record({
      at: fc.oneof(fc.constant(RUN), fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31) })),
      style: fc.constantFrom('utc', 'offset', 'micros', 'no-zone' as const),
    })
    .map(({ at, style }) => ({ value: spell(at, style), at })),
  fc
    .oneof(
      fc.string({ maxLength: 50 }).filter((text) => !/^\d{4}-/.test(text)),
      fc.constantFrom(
        '2026-02-30T10:04:35Z',
        '2026-13-01T10:04:35Z',
        '2026-05-27T10:60:35Z',
        '2026-05-27',
        ' 2026-05-27T10:04:35.743Z',
        `2026-05-27T10:04:35.${'7'.repeat(30)}Z`,
      ),
      fc.integer(),
      fc.constant(null),
    )
    .map((value) => ({ value })),
);

const bodyArb: fc.Arbitrary<{ kind: BodyKind; text: string; run?: { value: unknown; at?: number } }> =
  fc.oneof(
    fc.constant({ kind: 'empty' as const, text: '' }),
    fc
      .string({ maxLength: 256 })
      .map((reason) => ({ kind: 'reason' as const, text: JSON.stringify({ reason }) })),
    fc
      .string({ minLength: 257, maxLength: 400 })
      .map((reason) => ({ kind: 'long-reason' as const, text: JSON.stringify({ reason }) })),
    fc
      .record({ run: runArb, reason: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }) })
      .map(({ run, reason }) => ({
        kind: 'run' as const,
        text: JSON.stringify({ reason, runStartedAt: run.value }),
        run,
      })),
    fc
      .dictionary(
        fc
          .string({ minLength: 1, maxLength: 10 })
          .filter((k) => !['reason', 'jobId', 'instanceId', 'runStartedAt'].includes(k)),
        fc.jsonValue(),
        { minKeys: 1, maxKeys: 3 },
      )
      .map((value) => ({ kind: 'unknown-field' as const, text: JSON.stringify(value) })),
    fc
      .string({ minLength: 1, maxLength: 200 })
      .filter((text) => {
        try {
          JSON.parse(text);
          return false;
        } catch {
          return true;
        }
      })
      .map((text) => ({ kind: 'not-json' as const, text })),
    fc
      .array(fc.jsonValue(), { maxLength: 3 })
      .map((value) => ({ kind: 'array' as const, text: JSON.stringify(value) })),
    fc
      .integer({ min: 16 * 1024 + 1, max: 40 * 1024 })
      .map((size) => ({ kind: 'oversized' as const, text: 'x'.repeat(size) })),
    fc
      .uint8Array({ minLength: 1, maxLength: 64 })
      .map((bytes) => ({ kind: 'binary' as const, text: Buffer.from(bytes).toString('latin1') })),
  );

const requestArb = fc.record({
  jobId: idArb,
  instanceId: fc.option(fc.oneof(fc.constantFrom(INSTANCE, OTHER), idArb), { nil: undefined }),
  body: bodyArb,
  base64: fc.boolean(),
  contentType: fc.constantFrom(
    undefined,
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/merge-patch+json',
  ),
  auth: fc.constantFrom<Auth>('bearer', 'hmac', 'bad-bearer', 'bad-hmac', 'stale-hmac', 'none'),
  headerCase: fc.constantFrom('lower', 'upper', 'mixed'),
  queryNull: fc.boolean(),
  /** Whether an empty or reason body also names the job: the path's, or another job or instance. */
  bind: fc.constantFrom('none', 'same', 'other-job', 'other-instance'),
});

type RequestInput = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

/** The body text: the generated one, naming a job (and instance) when `bind` says so. */
function bodyText(input: RequestInput): string {
  const { kind, text } = input.body;
  if (input.bind === 'none' || (kind !== 'empty' && kind !== 'reason')) return text;
  const pathInstance = input.instanceId ?? INSTANCE;
  return JSON.stringify({
    ...(kind === 'reason' && JSON.parse(text)),
    jobId: input.bind === 'other-job' ? `${input.jobId}-other` : input.jobId,
    instanceId: input.bind === 'other-instance' ? `${pathInstance}-other` : pathInstance,
  });
}

/** The bytes the caller sends: a base64 body carries any bytes, a plain one is UTF-8 text. */
const rawBody = (input: RequestInput) => Buffer.from(bodyText(input), input.base64 ? 'latin1' : 'utf8');

function buildEvent(input: RequestInput): StopJobEvent {
  const event = httpEvent('http-stop-job-bearer');
  const raw = rawBody(input);
  const now = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'user-agent': 'fuzz' };
  if (input.contentType) headers['content-type'] = input.contentType;
  if (input.auth === 'bearer') headers.authorization = `Bearer ${BEARER}`;
  if (input.auth === 'bad-bearer') headers.authorization = 'Bearer not-the-token';
  if (input.auth.endsWith('hmac')) {
    const ts = String(input.auth === 'stale-hmac' ? now - 400 : now);
    headers['x-timestamp'] = ts;
    headers['x-signature'] = signature(input.auth === 'bad-hmac' ? 'wrong-key' : HMAC_KEY, ts, raw);
  }
  const cased = Object.fromEntries(
    Object.entries(headers).map(([key, value]) => [
      input.headerCase === 'upper'
        ? key.toUpperCase()
        : input.headerCase === 'mixed'
          ? key.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase())
          : key,
      value,
    ]),
  );
  return {
    ...event,
    headers: cased,
    pathParameters: {
      jobId: input.jobId,
      ...(input.instanceId !== undefined && { instanceId: input.instanceId }),
    },
    body: raw.length === 0 ? undefined : input.base64 ? raw.toString('base64') : bodyText(input),
    isBase64Encoded: input.base64 && raw.length > 0,
    ...(input.queryNull && { queryStringParameters: null as unknown as undefined }),
  } as StopJobEvent;
}

/** What a correct service must answer, from how the request was built (an oracle written from the contract). */
function expectedStatus(input: RequestInput): number {
  const raw = rawBody(input);
  if (raw.length > 16 * 1024) return 413;
  const json = input.contentType === undefined || /json/.test(input.contentType);
  if (raw.length > 0 && !json) return 415;
  if (!['bearer', 'hmac'].includes(input.auth)) return 401;
  if (!isValidId(input.jobId) || (input.instanceId !== undefined && !isValidId(input.instanceId))) return 400;
  if (!bodyIsValid(raw, input)) return 400;
  if (!allowed(input)) return 403;
  // a body naming another run than the job's: RUN_CHANGED, nothing stopped
  const at = input.body.run?.at;
  return at !== undefined && at !== RUN ? 200 : 202;
}

/**
 * A JSON object with a reason of at most 256 characters, a runStartedAt only when it was built valid,
 * naming no other job or instance than the path.
 */
function bodyIsValid(raw: Buffer, input: RequestInput): boolean {
  const text = raw.toString('utf8');
  if (text.trim() === '') return true;
  try {
    const value = JSON.parse(text);
    return (
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Object.keys(value).every((key) => ['reason', 'jobId', 'instanceId', 'runStartedAt'].includes(key)) &&
      (value.runStartedAt === undefined || input.body.run?.at !== undefined) &&
      (value.reason === undefined || (typeof value.reason === 'string' && [...value.reason].length <= 256)) &&
      (value.jobId === undefined || value.jobId === input.jobId) &&
      (value.instanceId === undefined || value.instanceId === (input.instanceId ?? INSTANCE))
    );
  } catch {
    return false;
  }
}

const allowed = (input: RequestInput) =>
  input.instanceId === undefined || [INSTANCE, OTHER].includes(input.instanceId);

describe('fuzzing the HTTP function', () => {
  it('answers every request with the right status, problem+json for errors, no 5xx and no LakeFormation call for bad input', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (input) => {
        upstream.calls.length = 0;
        inputsTried.http = (inputsTried.http ?? 0) + 1;
        const response = (await invoke(buildEvent(input))) as {
          statusCode: number;
          headers: Record<string, string>;
          body: string;
        };
        const expected = expectedStatus(input);
        expect(response.statusCode).toBe(expected);
        expect(response.statusCode).toBeLessThan(500);
        if (response.statusCode >= 400) {
          expect(response.headers['Content-Type']).toBe('application/problem+json');
          const problem = JSON.parse(response.body);
          expect(problem).toMatchObject({
            status: response.statusCode,
            code: expect.any(String),
            detail: expect.any(String),
          });
          expect(upstream.calls.filter((call) => call.kind === 'stop')).toHaveLength(0);
        }
        if (expected === 401) expect(upstream.calls).toHaveLength(0);
        if (expected === 200) expect(upstream.calls.filter((call) => call.kind === 'stop')).toHaveLength(0);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzzing queue messages', () => {
  const sqsMock = mockClient(SQSClient);
  const bodyArbitrary = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc
      .record(
        {
          jobId: idArb,
          instanceId: fc.oneof(
            fc.constantFrom(INSTANCE, OTHER, 'ffffffff-0000-4000-8000-000000000000'),
            idArb,
          ),
          reason: fc.string({ maxLength: 300 }),
          source: fc.string({ maxLength: 80 }),
          runStartedAt: runArb.map((run) => run.value),
          extra: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      .map((value) => JSON.stringify(value)),
    // field names of any characters, control characters and lone surrogates included
    fc
      .dictionary(fc.string({ unit: 'binary', maxLength: 20 }), fc.constant(1))
      .map((value) => JSON.stringify(value)),
  );
  /** What SQS takes in a message attribute. */
  const SQS_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

  it('gives every message exactly one fate, never calls LakeFormation for one that cannot succeed, dead-letters with attributes SQS takes, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(bodyArbitrary, { minLength: 1, maxLength: 12 }), async (bodies) => {
        inputsTried.sqs = (inputsTried.sqs ?? 0) + bodies.length;
        sqsMock.reset();
        sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
        const client = fakeClient();
        const records = bodies.map(
          (body, i) => ({ messageId: `m${i}`, body, receiptHandle: `r${i}` }) as unknown as SQSRecord,
        );

        const { response, reports } = await processStopBatch(records, {
          client,
          sqs: new SQSClient({}),
          dlqUrl: 'http://127.0.0.1:1/000000000000/dlq',
          defaultInstanceId: INSTANCE,
          allowedInstanceIds: new Set([INSTANCE, OTHER]),
          concurrency: 4,
          deadline: Date.now() + 60_000,
        });

        expect(reports.map((r) => r.messageId)).toEqual(records.map((r) => r.messageId));
        expect(response.batchItemFailures).toEqual([]);
        const entries = sqsMock
          .commandCalls(SendMessageBatchCommand)
          .flatMap((call) => call.args[0].input.Entries ?? []);
        const deadLettered = entries.map((entry) => entry.MessageBody);
        for (const entry of entries) {
          const errorMessage = entry.MessageAttributes?.errorMessage?.StringValue ?? '';
          expect(errorMessage).toMatch(SQS_TEXT);
          expect([...errorMessage].length).toBeLessThanOrEqual(1024);
        }
        /** Per distinct stop (job, and run when named): the one call it costs. */
        const stops = new Map<string, string>();
        for (const [i, report] of reports.entries()) {
          if (report.disposition === 'dead-lettered') {
            expect(deadLettered).toContain(bodies[i]);
          } else {
            expect(report.disposition).toBe('acknowledged');
            const run = parseRunStartedAt(report.runStartedAt);
            const job = `${report.instanceId}/${report.jobId}`;
            stops.set(`${job}/${run ?? ''}`, `${run === undefined ? 'stopJob' : 'getJob'} ${job}`);
          }
        }
        // one LakeFormation call per distinct valid stop (a read first when it names a run; every job
        // here is missing, so nothing follows it), none for the rest; instance checks aside
        expect(
          client.calls
            .filter((call) => call.op !== 'listJobs')
            .map((call) => `${call.op} ${call.instanceId}/${call.jobId}`)
            .sort(),
        ).toEqual([...stops.values()].sort());
      }),
      { numRuns: RUNS },
    );
  });
});

afterAll(() => {
  console.log(`fuzz: ${JSON.stringify(inputsTried)} inputs tried`);
});
