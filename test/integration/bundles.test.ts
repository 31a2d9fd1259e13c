import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundles, type FUNCTION_SOURCES } from '../../local/bundle.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { createFunctionSecrets, drainQueue, uniqueName, useMoto } from '../support/aws.js';
import { emulatorEnv, INSTANCE, testEmulator } from '../support/emulator.js';
import { forJob, httpEvent, parse, scheduledEvent, signed } from '../support/http.js';
import { capturedLogLines, registerSecret } from '../support/logs.js';

/**
 * The deployable artefacts themselves: each function bundled with serverless.yml's esbuild options,
 * imported by a fresh `node` whose environment holds only what Lambda would give it (role credentials
 * in AWS_* variables, the function's settings, no ~/.aws), against moto and the emulator.
 */

type FunctionName = keyof typeof FUNCTION_SOURCES;

const HMAC_KEY = 'bundle-test-hmac-key';
registerSecret(HMAC_KEY);

let outdir: string;
let home: string;
let bundles: Record<string, { file: string; bytes: number }>;
let emulator: LakeFormationEmulator;
let sqs: SQSClient;
let queueUrl: string;
let functionEnv: Record<string, string>;

beforeAll(async () => {
  const endpoint = useMoto();
  outdir = await mkdtemp(join(tmpdir(), 'lf-bundles-'));
  home = await mkdtemp(join(tmpdir(), 'lf-home-'));
  bundles = await buildBundles(outdir);
  emulator = await testEmulator({ stopDelayMs: 20 });

  const { credentialsSecret, webhookSecret } = await createFunctionSecrets('bundle', {
    hmacKeys: [HMAC_KEY],
  });
  sqs = new SQSClient({});
  queueUrl =
    (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('bundle-stop') }))).QueueUrl ?? '';
  const dlqUrl =
    (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('bundle-dlq') }))).QueueUrl ?? '';

  const { HUAWEICLOUD_USER_NAME, HUAWEICLOUD_PASSWORD, HUAWEICLOUD_DOMAIN_NAME, ...lakeFormation } =
    emulatorEnv(emulator);
  functionEnv = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    AWS_REGION: process.env.AWS_REGION ?? 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'ASIABUNDLETEST',
    AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
    AWS_SESSION_TOKEN: 'bundle-test-session',
    AWS_ENDPOINT_URL: endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'lf-job-stopper',
    ...lakeFormation,
    HUAWEICLOUD_CREDENTIALS_SECRET_ID: credentialsSecret,
    WEBHOOK_SECRET_ID: webhookSecret,
    STOP_QUEUE_URL: queueUrl,
    STOP_DLQ_URL: dlqUrl,
    STALE_JOB_POLICY: JSON.stringify({ maxRunMinutes: 240 }),
  };
}, 60_000);

afterAll(async () => {
  await emulator?.close();
  await rm(outdir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

interface Invocation {
  result: unknown;
  logs: Record<string, unknown>[];
  exitCode: number | null;
  stderr: string;
}

/** One cold invocation of a bundle in its own process; its log lines join the suite's secret scan. */
function invokeBundle(name: FunctionName, event: unknown, env = functionEnv): Promise<Invocation> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('../support/invoke-bundle.mjs', import.meta.url)), bundles[name]?.file ?? ''],
      { env: { ...env, INVOKE_EVENT: JSON.stringify(event) }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let result = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdio[3]?.on('data', (chunk) => {
      result += chunk;
    });
    child.on('error', reject);
    child.on('close', (exitCode) => {
      // The logger writes errors to stderr and everything else to stdout, one JSON object per line.
      const lines = `${stdout}\n${stderr}`.split('\n').filter((line) => line.startsWith('{'));
      capturedLogLines.push(...lines);
      resolve({
        result: result === '' ? undefined : JSON.parse(result),
        logs: lines.map((line) => JSON.parse(line) as Record<string, unknown>),
        exitCode,
        stderr,
      });
    });
  });
}

function runningJob(startedMinutesAgo = 30) {
  return emulator.store.add(INSTANCE, {
    name: `bundle_${Math.random().toString(36).slice(2, 8)}`,
    type: 'METADATA_MIGRATION',
    status: 'RUNNING',
    startedMinutesAgo,
  });
}

/** The bundle budget `npm run bench` reports against: INIT is mostly V8 compiling the one file. */
const BUNDLE_BUDGET_KIB = 350;

describe('function bundles as Lambda runs them', () => {
  it(`keeps every function's bundle within ${BUNDLE_BUDGET_KIB} KiB`, async () => {
    const snooze = await buildBundles(join(outdir, 'snooze'), { snoozeJob: 'functions/snooze-job.ts' });
    const sizes = Object.fromEntries(
      Object.entries({ ...bundles, ...snooze }).map(([name, bundle]) => [name, bundle.bytes / 1024]),
    );
    expect(Object.keys(sizes).sort()).toEqual([
      'bulkStop',
      'confirmStops',
      'readStops',
      'snoozeJob',
      'stopJob',
      'stopStaleJobs',
    ]);
    const over = Object.entries(sizes).filter(([, kib]) => kib > BUNDLE_BUDGET_KIB);
    expect(over.map(([name, kib]) => `${name}: ${kib.toFixed(1)} KiB`)).toEqual([]);
  });

  it('stopJob: a signed request stops the job, with credentials read from Secrets Manager', async () => {
    const job = runningJob();
    const event = signed(forJob(httpEvent('http-stop-job-signed'), job.id), HMAC_KEY);

    const { result, exitCode, logs } = await invokeBundle('stopJob', event);

    expect(exitCode).toBe(0);
    expect(logs.filter((line) => line.level === 'ERROR')).toEqual([]);
    const response = parse(result);
    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({ jobId: job.id, instanceId: INSTANCE });
    await expect.poll(() => emulator.store.get(INSTANCE, job.id)?.status).toBe('STOPPED');
  });

  it('bulkStop: a queued message stops its job and is acknowledged', async () => {
    const job = runningJob();
    const base = JSON.parse(JSON.stringify((await import('../../events/sqs-stop-batch.json')).default)) as {
      Records: Record<string, unknown>[];
    };
    const event = {
      Records: [{ ...base.Records[0], body: JSON.stringify({ jobId: job.id, source: 'bundle-test' }) }],
    };

    const { result, exitCode } = await invokeBundle('bulkStop', event);

    expect(exitCode).toBe(0);
    expect(result).toEqual({ batchItemFailures: [] });
    await expect.poll(() => emulator.store.get(INSTANCE, job.id)?.status).toBe('STOPPED');
  });

  it('stopStaleJobs: a job running past the limit is sent to the stop queue', async () => {
    await drainQueue(sqs, queueUrl);
    const stale = runningJob(300);
    const young = runningJob(10);

    const { result, exitCode } = await invokeBundle('stopStaleJobs', scheduledEvent());

    expect(exitCode).toBe(0);
    expect(result).toMatchObject({ enqueued: expect.any(Number) });
    const sent = (await drainQueue(sqs, queueUrl)).map(
      (m) => JSON.parse(m.Body ?? '{}') as { jobId: string },
    );
    expect(sent.map((m) => m.jobId)).toContain(stale.id);
    expect(sent.map((m) => m.jobId)).not.toContain(young.id);
  });

  it('without AWS credentials in the environment the secret read fails with a reason, not a crash', async () => {
    const job = runningJob();
    const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, ...env } = functionEnv;
    const event = signed(forJob(httpEvent('http-stop-job-signed'), job.id), HMAC_KEY);

    const { result, exitCode, logs } = await invokeBundle('stopJob', event, env);

    expect(exitCode).toBe(0);
    expect(parse(result)).toMatchObject({ statusCode: 500, body: { code: 'INTERNAL_ERROR' } });
    expect(JSON.stringify(logs)).toMatch(/environment variable credentials/i);
    expect(emulator.store.get(INSTANCE, job.id)?.status).toBe('RUNNING');
    expect(emulator.requests.some((r) => r.path.includes(job.id))).toBe(false);
  });
});
