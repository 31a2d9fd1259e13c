import { CreateQueueCommand, type Message, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import type { AnswerBody, ScriptedFault } from '../../local/emulator/faults.js';
import type { LakeFormationEmulator, RequestLogEntry } from '../../local/emulator/server.js';
import { createFunctionSecrets, drainQueue, uniqueName, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator, USER } from '../support/emulator.js';
import { forJob, httpEvent, withBearer } from '../support/http.js';
import { lambdaContext } from '../support/lambda.js';
import { capturedLogLines, otherOutput, registerSecret } from '../support/logs.js';

/**
 * Fuzzing what IAM and LakeFormation answer (design: "Upstream answers are untrusted"): the real
 * webhook and queue handlers against the emulator, whose answers to the sign-in, the stop and the
 * job read are scripted per run from every status class (2xx/3xx/4xx/5xx) × body (empty, JSON, error
 * JSON, HTML, invalid JSON, an echo of the request's token or IAM password, JSON or text, and bodies
 * over 1 MiB up to 8 MiB, with and without Content-Length), one to four times in a row (so retries
 * meet them too). Properties, checked on every invocation against the emulator's request log:
 *
 * 1. no 2xx other than 202 acknowledges a stop: `STOP_REQUESTED` only after a stop answered 202 (with
 *    a body of at most 1 MiB); a stop or read whose last answer was another 2xx ends in a retryable
 *    failure (webhook 502 `UPSTREAM_ERROR`, a batch item failure); any other outcome only after an
 *    answer that says so (404 / 400 for `NOT_FOUND`, a refused stop and a read for `NOT_STOPPABLE`);
 * 2. no secret in any output: no IAM password, caller key or emulator token in a webhook answer
 *    (status, headers, body), a queue answer, a dead letter (body and attributes) or any output line;
 * 3. bounded time and memory: every invocation ends before its Lambda timeout, without a throw or a
 *    500; an answer over 1 MiB is a typed failure (502, retried), its token never used; and memory
 *    held (heap + external) peaks less than 64 MiB, RSS less than 96 MiB, above the baseline over the
 *    whole run, while the answers promise ~200 MiB in all at CI size, ~1 GiB at soak size.
 *
 * Violations are collected, not thrown, so one run says how often each property fails and how; each
 * property is then its own test. Runs: FUZZ_RUNS / 5 (60 by default, `npm run test:soak`: 400); seed:
 * FUZZ_SEED (printed in the `upstream-fuzz: {...}` line, to replay a run).
 */
const RUNS = Math.max(10, Math.ceil(Number(process.env.FUZZ_RUNS ?? 300) / 5));
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MiB = 1024 * 1024;
/** The most the product reads of an answer body. */
const MAX_BODY = MiB;
/**
 * Peak growth over the run's baseline of what the process holds (V8 heap + external: strings and
 * buffers, where a buffered answer body shows), and of RSS, which also keeps the allocator's high-water
 * mark (it never gives back what hundreds of 1 MiB reads fragmented): 32 MiB more for that.
 */
const HELD_GROWTH_LIMIT = 64 * MiB;
const RSS_GROWTH_LIMIT = 96 * MiB;
/** The Lambda timeouts the invocations see; the functions keep 1 s (HTTP) and 5 s (queue) back. */
const WEBHOOK_TIMEOUT_MS = 10_000;
const QUEUE_TIMEOUT_MS = 15_000;

const BEARER = 'upstream-fuzz-bearer-token';
const HMAC_KEY = 'upstream-fuzz-hmac-key';
registerSecret(BEARER, HMAC_KEY);
/** What must never be in any output: the test's secrets, and any token the emulator issued. */
const SECRETS: [string, string][] = [
  ['IAM password', USER.password],
  ['bearer token', BEARER],
  ['HMAC key', HMAC_KEY],
];
const EMULATOR_TOKEN = /MIIemu[0-9a-f]{16,}/;

// Arbitraries: one upstream answer, scripted for `times` requests in a row

const STATUSES = [
  200, 201, 202, 203, 204, 206, 301, 302, 304, 307, 400, 401, 403, 404, 409, 418, 429, 500, 502, 503,
];
const BODIES: AnswerBody[] = [
  'empty',
  'json',
  'json-error',
  'html',
  'invalid-json',
  'echo-token',
  'echo-token-text',
  'huge',
];
const HUGE_SIZES = [MAX_BODY + 1, 2 * MiB, 8 * MiB];

const answerArb: fc.Arbitrary<Omit<ScriptedFault, 'match' | 'times'>> = fc.oneof(
  fc.record({ fault: fc.constantFrom('200-html', '200-json-error', '200-invalid-json', '204' as const) }),
  fc.record(
    {
      fault: fc.constantFrom('echo-token', 'echo-token-text' as const),
      status: fc.constantFrom(400, 409, 500, 503),
    },
    { requiredKeys: ['fault'] },
  ),
  fc.record(
    {
      fault: fc.constant('huge-body' as const),
      bodyBytes: fc.constantFrom(...HUGE_SIZES),
      chunked: fc.boolean(),
      status: fc.constantFrom(200, 400, 500),
    },
    { requiredKeys: ['fault', 'bodyBytes', 'chunked'] },
  ),
  fc
    .record({
      fault: fc.constant('answer' as const),
      status: fc.constantFrom(...STATUSES),
      body: fc.constantFrom(...BODIES),
      bodyBytes: fc.constantFrom(...HUGE_SIZES),
      chunked: fc.boolean(),
    })
    .map(({ body, bodyBytes, chunked, ...rest }) =>
      body === 'huge' ? { ...rest, body, bodyBytes, chunked } : { ...rest, body },
    ),
);
const stepArb = fc.record({ answer: answerArb, times: fc.integer({ min: 1, max: 4 }) });

/** Per job: the answers its stop gets, in order, and (maybe) its read; normal answers follow. */
const jobPlanArb = fc.record(
  { stop: fc.array(stepArb, { minLength: 1, maxLength: 2 }), read: stepArb },
  { requiredKeys: ['stop'] },
);

const runArb = fc.record({
  entry: fc.constantFrom('webhook', 'queue' as const),
  /** One webhook invocation per job; one queue batch of them all. */
  jobs: fc.array(jobPlanArb, { minLength: 1, maxLength: 3 }),
  /** The sign-in's answers (the token cache is emptied before each run), in one run of five. */
  iam: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: stepArb, weight: 1 }),
});
type Run = typeof runArb extends fc.Arbitrary<infer T> ? T : never;

// What was seen

type Property = 'acknowledged' | 'secrets' | 'bounded';
const violations: Record<Property, { count: number; kinds: Record<string, number>; examples: unknown[] }> = {
  acknowledged: { count: 0, kinds: {}, examples: [] },
  secrets: { count: 0, kinds: {}, examples: [] },
  bounded: { count: 0, kinds: {}, examples: [] },
};
const figures = {
  runs: 0,
  webhookInvocations: 0,
  queueInvocations: 0,
  messages: 0,
  outcomes: {} as Record<string, number>,
  answersByClass: {} as Record<string, number>,
  hugeAnswers: 0,
  hugeBytesPromised: 0,
  slowestInvocationMs: 0,
  rssBaselineMiB: 0,
  rssPeakGrowthMiB: 0,
  /** Peak growth of what V8 accounts for (heap + external: strings and buffers), sampled every 10 ms. */
  heldPeakGrowthMiB: 0,
  /** At the end of the run, against the baseline: V8 heap and memory outside it (buffers). */
  heapGrowthMiB: 0,
  externalGrowthMiB: 0,
  /** Output lines the log scan keeps in memory until the file ends (counted in RSS, not the product's). */
  outputKeptMiB: 0,
  seconds: 0,
};
let currentRun: Run | undefined;

/** Records a violation of `property`; `kind` (a short fixed label) is counted in the figures. */
function violation(property: Property, kind: string, detail: Record<string, unknown>): void {
  const record = violations[property];
  record.count += 1;
  record.kinds[kind] = (record.kinds[kind] ?? 0) + 1;
  if (record.examples.length < 5) record.examples.push({ ...detail, run: describeRun(currentRun) });
}

/** A run as a short line: `webhook job0 stop[answer 302 html ×2] read[...] iam[...]`. */
function describeRun(run: Run | undefined): string {
  if (!run) return '';
  const step = (s: { answer: Omit<ScriptedFault, 'match' | 'times'>; times: number }) => {
    const a = s.answer;
    const size = a.bodyBytes !== undefined ? ` ${a.bodyBytes}B${a.chunked ? ' chunked' : ''}` : '';
    return `${a.fault}${a.status !== undefined ? ` ${a.status}` : ''}${a.body ? ` ${a.body}` : ''}${size} ×${s.times}`;
  };
  const jobs = run.jobs.map(
    (plan, i) =>
      `job${i} stop[${plan.stop.map(step).join(', ')}]${plan.read ? ` read[${step(plan.read)}]` : ''}`,
  );
  return `${run.entry} ${jobs.join(' ')}${run.iam ? ` iam[${step(run.iam)}]` : ''}`;
}

/** `text` with every secret and emulator token replaced by its name: safe to print. */
function masked(text: string): string {
  let clean = text.replace(new RegExp(EMULATOR_TOKEN.source, 'g'), '<token>');
  for (const [name, secret] of SECRETS) clean = clean.replaceAll(secret, `<${name}>`);
  return clean;
}

/** Secrets found in `text`, each with a masked excerpt around it. */
function leaks(where: string, text: string): { where: string; secret: string; excerpt: string }[] {
  const hits: [string, number, number][] = SECRETS.map(([name, secret]) => [
    name,
    text.indexOf(secret),
    secret.length,
  ]);
  const token = EMULATOR_TOKEN.exec(text);
  if (token) hits.push(['emulator token', token.index, token[0].length]);
  return hits
    .filter(([, at]) => at >= 0)
    .map(([secret, at, length]) => ({
      where,
      secret,
      excerpt: masked(text.slice(Math.max(0, at - 100), at + length + 40)),
    }));
}

// The oracle, from the emulator's request log

const isHuge = (entry: RequestLogEntry) => (entry.bodyBytes ?? 0) > MAX_BODY;
/** LakeFormation accepted the stop: a 202 whose body the product may read. */
const isAcceptance = (entry: RequestLogEntry) =>
  entry.operation === 'stopJob' && entry.status === 202 && !isHuge(entry);
/** A 2xx that is not what the call documents: a stop's non-202, a read's scripted nonsense. */
const isWrongSuccess = (entry: RequestLogEntry) =>
  entry.status >= 200 &&
  entry.status < 300 &&
  !isHuge(entry) &&
  ((entry.operation === 'stopJob' && entry.status !== 202) ||
    (entry.operation === 'getJob' && entry.fault !== undefined));

interface Verdict {
  accepted: boolean;
  /** The job's last stop or read answer, when it had one. */
  last?: RequestLogEntry;
  /** Why the stop must end in a retryable failure, if it must. */
  mustFail?: 'wrong-success' | 'huge' | 'no-answer';
  entries: RequestLogEntry[];
}

function verdict(log: RequestLogEntry[], jobId: string): Verdict {
  const entries = log.filter(
    (e) => e.jobId === jobId && (e.operation === 'stopJob' || e.operation === 'getJob'),
  );
  const accepted = entries.some(isAcceptance);
  const last = entries.at(-1);
  const mustFail = accepted
    ? undefined
    : !last
      ? 'no-answer'
      : isHuge(last)
        ? 'huge'
        : isWrongSuccess(last)
          ? 'wrong-success'
          : undefined;
  return { accepted, entries, ...(last && { last }), ...(mustFail && { mustFail }) };
}

/** Whether the request log backs an outcome other than STOP_REQUESTED. */
function justified(outcome: string, entries: RequestLogEntry[]): boolean {
  const small = entries.filter((e) => !isHuge(e));
  const readOk = small.some((e) => e.operation === 'getJob' && e.status === 200 && e.fault === undefined);
  switch (outcome) {
    case 'NOT_FOUND':
      return small.some((e) => e.status === 404 || e.status === 400);
    case 'NOT_STOPPABLE':
      return small.some((e) => e.operation === 'stopJob' && [400, 409].includes(e.status)) && readOk;
    case 'NOT_RUNNING':
    case 'RUN_CHANGED':
      return readOk;
    default:
      return false;
  }
}

const brief = (entries: RequestLogEntry[]) =>
  entries.map(
    (e) =>
      `${e.operation} ${e.status}${e.fault ? ` ${e.fault}` : ''}${e.bodyBytes ? ` ${e.bodyBytes}B` : ''}`,
  );

// The system under test

let emulator: LakeFormationEmulator;
let sqs: SQSClient;
let dlqUrl: string;
let stopJob: (event: StopJobEvent, context: Context) => Promise<unknown>;
let bulkStop: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
let jobCount = 0;

beforeAll(async () => {
  useMoto();
  sqs = new SQSClient({});
  dlqUrl =
    (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('upstream-fuzz-dlq') }))).QueueUrl ?? '';
  emulator = await testEmulator({ stopDelayMs: 10 });
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) vi.stubEnv(key, value);
  const { webhookSecret } = await createFunctionSecrets('upstream-fuzz', {
    hmacKeys: [HMAC_KEY],
    bearerTokens: [BEARER],
  });
  vi.stubEnv('WEBHOOK_SECRET_ID', webhookSecret);
  vi.stubEnv('STOP_DLQ_URL', dlqUrl);
  stopJob = ((await import('../../functions/stop-job.js')) as unknown as { handler: typeof stopJob }).handler;
  bulkStop = ((await import('../../functions/bulk-stop.js')) as unknown as { handler: typeof bulkStop })
    .handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator?.close();
  console.log(
    `upstream-fuzz: ${JSON.stringify({
      seed: SEED,
      ...figures,
      faultsInjected: emulator?.faults.injected,
      violations: Object.fromEntries(
        Object.entries(violations).map(([name, v]) => [name, { count: v.count, ...v.kinds }]),
      ),
    })}`,
  );
});

/** Output lines written since `mark()`, and the log lines among them parsed. */
function outputSince() {
  const logs = capturedLogLines.length;
  const other = otherOutput.length;
  return () => {
    const lines = capturedLogLines.slice(logs);
    return {
      text: [...lines, ...otherOutput.slice(other)],
      parsed: lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    };
  };
}

function script(run: Run, jobIds: string[]): ScriptedFault[] {
  const steps: ScriptedFault[] = [];
  if (run.iam) steps.push({ ...run.iam.answer, times: run.iam.times, match: { target: 'iam' } });
  run.jobs.forEach((plan, i) => {
    const path = `/lf-jobs/${jobIds[i]}`;
    for (const step of plan.stop) {
      steps.push({ ...step.answer, times: step.times, match: { method: 'POST', path: `${path}/stop` } });
    }
    if (plan.read) {
      steps.push({ ...plan.read.answer, times: plan.read.times, match: { method: 'GET', path } });
    }
  });
  return steps;
}

function timed<T>(work: () => Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = Date.now();
  return work().then(
    (value) => ({ value, ms: Date.now() - started }),
    (error: unknown) => ({ error, ms: Date.now() - started }),
  );
}

/** A token must come from a sign-in answered 201 in at most 1 MiB (the cache is empty at the start). */
function checkSignIn(log: RequestLogEntry[]): void {
  const firstCall = log.findIndex((e) => e.target === 'lakeformation');
  if (firstCall < 0) return;
  const signIn = log.slice(0, firstCall).findLast((e) => e.target === 'iam');
  if (signIn && isHuge(signIn)) {
    violation('bounded', 'token of an IAM answer over 1 MiB used', {
      what: 'LakeFormation was called with the token of an IAM answer over 1 MiB',
      log: brief(log),
    });
  }
}

async function execute(run: Run): Promise<void> {
  currentRun = run;
  figures.runs += 1;
  resetContainer();
  const jobs = run.jobs.map(() =>
    emulator.store.add(INSTANCE, {
      name: `upstream_fuzz_${++jobCount}`,
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
      startedMinutesAgo: 5,
    }),
  );
  const logStart = emulator.requests.length;
  emulator.faults.configure({
    script: script(
      run,
      jobs.map((job) => job.id),
    ),
  });
  try {
    if (run.entry === 'webhook') {
      for (const job of jobs) await webhook(job.id);
    } else {
      await queue(jobs.map((job) => job.id));
    }
  } finally {
    emulator.faults.clear();
  }
  const log = emulator.requests.slice(logStart);
  checkSignIn(log);
  for (const entry of log) {
    const key = `${entry.target === 'iam' ? 'iam' : 'lakeformation'} ${Math.floor(entry.status / 100)}xx`;
    figures.answersByClass[key] = (figures.answersByClass[key] ?? 0) + 1;
    if (isHuge(entry)) {
      figures.hugeAnswers += 1;
      figures.hugeBytesPromised += entry.bodyBytes ?? 0;
    }
  }
}

async function webhook(jobId: string): Promise<void> {
  figures.webhookInvocations += 1;
  const output = outputSince();
  const logStart = emulator.requests.length;
  const event = withBearer(forJob(httpEvent('http-stop-job-bearer'), jobId), BEARER);
  const { value, error, ms } = await timed(() => stopJob(event, lambdaContext(WEBHOOK_TIMEOUT_MS)));
  figures.slowestInvocationMs = Math.max(figures.slowestInvocationMs, ms);
  const seen = verdict(emulator.requests.slice(logStart), jobId);
  const context = { jobId, log: brief(seen.entries) };
  const response = (value ?? {}) as { statusCode?: number; headers?: Record<string, string>; body?: string };
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(response.body ?? '{}') as Record<string, unknown>;
  } catch {
    // a body that is not JSON: judged by its status alone
  }
  const status = response.statusCode ?? 0;
  const outcome = typeof body.outcome === 'string' ? body.outcome : undefined;
  if (outcome) figures.outcomes[outcome] = (figures.outcomes[outcome] ?? 0) + 1;
  else
    figures.outcomes[`HTTP ${status} ${String(body.code)}`] =
      (figures.outcomes[`HTTP ${status} ${String(body.code)}`] ?? 0) + 1;

  // 3. bounded: no throw, no defect, before the timeout
  if (error !== undefined || status === 500 || status === 0) {
    violation('bounded', 'webhook threw or answered 500', {
      what: 'the webhook threw or answered 500',
      status,
      error: String(error),
      ...context,
    });
  }
  if (ms >= WEBHOOK_TIMEOUT_MS)
    violation('bounded', 'webhook past its timeout', {
      what: 'the webhook ran past its timeout',
      ms,
      ...context,
    });

  // 1. only a 202 acknowledges
  if ((status === 202 || outcome === 'STOP_REQUESTED') && !seen.accepted) {
    violation('acknowledged', 'webhook STOP_REQUESTED without a 202', {
      what: 'webhook STOP_REQUESTED without a stop answered 202',
      status,
      outcome,
      ...context,
    });
  }
  if (outcome && outcome !== 'STOP_REQUESTED' && !justified(outcome, seen.entries)) {
    violation('acknowledged', 'webhook outcome no answer backs', {
      what: `webhook ${outcome} that no answer backs`,
      status,
      ...context,
    });
  }
  if (seen.mustFail) {
    const property: Property = seen.mustFail === 'huge' ? 'bounded' : 'acknowledged';
    const ok =
      seen.mustFail === 'no-answer'
        ? [429, 502, 503, 504].includes(status)
        : status === 502 && body.code === 'UPSTREAM_ERROR';
    if (!ok) {
      violation(property, `webhook not a retryable failure after ${seen.mustFail}`, {
        what: `webhook answered ${status} ${String(outcome ?? body.code)} where the last answer (${seen.mustFail}) must give a retryable failure${seen.mustFail === 'no-answer' ? '' : ' (502 UPSTREAM_ERROR)'}`,
        ...context,
      });
    }
  }

  // 2. no secret in the answer or the output
  const found = [
    ...leaks('webhook status line and headers', `${status} ${JSON.stringify(response.headers ?? {})}`),
    ...leaks('webhook body', response.body ?? ''),
    ...leaks('webhook error', error === undefined ? '' : `${String(error)} ${(error as Error).stack ?? ''}`),
    ...output().text.flatMap((line) => leaks('output line', line)),
  ];
  for (const leak of found) violation('secrets', `${leak.secret} in ${leak.where}`, { ...leak, ...context });
}

async function queue(jobIds: string[]): Promise<void> {
  figures.queueInvocations += 1;
  figures.messages += jobIds.length;
  const output = outputSince();
  const logStart = emulator.requests.length;
  const records = jobIds.map(
    (jobId, i) =>
      ({
        messageId: `${jobId}-m${i}`,
        receiptHandle: `r-${jobId}`,
        body: JSON.stringify({ jobId, reason: 'upstream fuzz', source: 'upstream-fuzz' }),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'upstream-fuzz',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:upstream-fuzz',
        awsRegion: 'eu-west-1',
      }) as SQSRecord,
  );
  const { value, error, ms } = await timed(() =>
    bulkStop({ Records: records }, lambdaContext(QUEUE_TIMEOUT_MS)),
  );
  figures.slowestInvocationMs = Math.max(figures.slowestInvocationMs, ms);
  const log = emulator.requests.slice(logStart);
  const dead: Message[] = await drainQueue(sqs, dlqUrl);
  const lines = output();
  const failed = new Set((value?.batchItemFailures ?? []).map((f) => f.itemIdentifier));

  if (error !== undefined)
    violation('bounded', 'queue handler threw', {
      what: 'the queue handler threw',
      error: String(error),
      jobIds,
    });
  if (ms >= QUEUE_TIMEOUT_MS)
    violation('bounded', 'queue handler past its timeout', {
      what: 'the queue handler ran past its timeout',
      ms,
      jobIds,
    });

  for (const record of records) {
    const jobId = JSON.parse(record.body).jobId as string;
    const seen = verdict(log, jobId);
    const context = { jobId, log: brief(seen.entries) };
    const acknowledged = error === undefined && !failed.has(record.messageId);
    const deadLettered = dead.some((m) => m.Body === record.body);
    const line = lines.parsed.findLast(
      (l) => l.messageId === record.messageId && typeof l.disposition === 'string',
    );
    const outcome = typeof line?.outcome === 'string' ? line.outcome : undefined;
    const fate = acknowledged
      ? deadLettered
        ? 'dead-lettered'
        : (outcome ?? 'acknowledged, no outcome logged')
      : 'retry';
    figures.outcomes[`queue ${fate}`] = (figures.outcomes[`queue ${fate}`] ?? 0) + 1;
    if (!acknowledged) continue;
    // 1. acknowledged: only for a stop answered 202, or an outcome the answers back
    if (outcome === 'STOP_REQUESTED' && !seen.accepted) {
      violation('acknowledged', 'queue STOP_REQUESTED without a 202', {
        what: 'queue acknowledged STOP_REQUESTED without a stop answered 202',
        ...context,
      });
    } else if (outcome === undefined && !deadLettered && !seen.accepted) {
      violation('acknowledged', 'queue acknowledged with no logged outcome', {
        what: 'queue acknowledged a message with no logged outcome and no 202',
        ...context,
      });
    } else if (outcome && outcome !== 'STOP_REQUESTED' && !justified(outcome, seen.entries)) {
      violation('acknowledged', 'queue outcome no answer backs', {
        what: `queue acknowledged ${outcome} that no answer backs`,
        ...context,
      });
    }
    if (seen.mustFail) {
      violation(
        seen.mustFail === 'huge' ? 'bounded' : 'acknowledged',
        `queue acknowledged after ${seen.mustFail}`,
        {
          what: `queue acknowledged (${deadLettered ? 'dead-lettered' : (outcome ?? '?')}) where the last answer (${seen.mustFail}) must give a batch item failure`,
          ...context,
        },
      );
    }
  }

  // 2. no secret in the answer, the dead letters or the output
  const found = [
    ...leaks('queue answer', JSON.stringify(value ?? {})),
    ...leaks('queue error', error === undefined ? '' : `${String(error)} ${(error as Error).stack ?? ''}`),
    ...dead.flatMap((m) =>
      leaks('dead letter', JSON.stringify({ body: m.Body, attributes: m.MessageAttributes })),
    ),
    ...lines.text.flatMap((text) => leaks('output line', text)),
  ];
  for (const leak of found)
    violation('secrets', `${leak.secret} in ${leak.where}`, { ...leak, jobIds, log: brief(log) });
}

describe('upstream fuzz: IAM and LakeFormation answers of any status, shape and size', () => {
  it(`drives the webhook and the queue function through ${RUNS} runs of scripted answers`, async () => {
    // warm-up with normal answers (modules, JIT, connection pools), then the RSS baseline
    await execute({ entry: 'webhook', jobs: [{ stop: [] }, { stop: [] }], iam: undefined });
    await execute({ entry: 'queue', jobs: [{ stop: [] }, { stop: [] }, { stop: [] }], iam: undefined });
    const before = process.memoryUsage();
    const baseline = before.rss;
    const held = (usage: NodeJS.MemoryUsage) => usage.heapUsed + usage.external;
    let peak = baseline;
    let heldPeak = held(before);
    const sampler = setInterval(() => {
      const usage = process.memoryUsage();
      peak = Math.max(peak, usage.rss);
      heldPeak = Math.max(heldPeak, held(usage));
    }, 10);
    const started = Date.now();
    try {
      await fc.assert(
        fc.asyncProperty(runArb, async (run) => {
          await execute(run);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    } finally {
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage.rss());
      figures.seconds = Math.round((Date.now() - started) / 100) / 10;
      figures.rssBaselineMiB = Math.round(baseline / MiB);
      figures.rssPeakGrowthMiB = Math.round(((peak - baseline) / MiB) * 10) / 10;
      const after = process.memoryUsage();
      figures.heldPeakGrowthMiB = Math.round(((heldPeak - held(before)) / MiB) * 10) / 10;
      figures.heapGrowthMiB = Math.round(((after.heapUsed - before.heapUsed) / MiB) * 10) / 10;
      figures.externalGrowthMiB = Math.round(((after.external - before.external) / MiB) * 10) / 10;
      figures.outputKeptMiB =
        Math.round(
          ([...capturedLogLines, ...otherOutput].reduce((sum, line) => sum + line.length, 0) / MiB) * 10,
        ) / 10;
    }
    if (heldPeak - held(before) >= HELD_GROWTH_LIMIT) {
      violation('bounded', 'held memory growth over the limit', {
        what: `heap + external grew by ${figures.heldPeakGrowthMiB} MiB at the peak (limit ${HELD_GROWTH_LIMIT / MiB} MiB)`,
        hugeAnswers: figures.hugeAnswers,
      });
    }
    if (peak - baseline >= RSS_GROWTH_LIMIT) {
      violation('bounded', 'RSS growth over the limit', {
        what: `RSS grew by ${figures.rssPeakGrowthMiB} MiB at the peak (limit ${RSS_GROWTH_LIMIT / MiB} MiB)`,
        hugeAnswers: figures.hugeAnswers,
      });
    }
    expect(figures.runs).toBe(RUNS + 2);
  });

  it('no 2xx other than 202 acknowledges a stop', () => {
    expect(violations.acknowledged.examples, `${violations.acknowledged.count} violations`).toEqual([]);
  });

  it('no secret in any output (answers, dead letters, log lines)', () => {
    expect(violations.secrets.examples, `${violations.secrets.count} violations`).toEqual([]);
  });

  it('bounded time and memory: no crash, no invocation past its timeout, no answer over 1 MiB used', () => {
    expect(violations.bounded.examples, `${violations.bounded.count} violations`).toEqual([]);
  });
});
