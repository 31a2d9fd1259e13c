import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signature } from '../../lib/edge/http/caller-auth.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { freePort } from '../../local/moto.js';
import { createFunctionSecrets, useMoto } from '../support/aws.js';
import { INSTANCE, OTHER_INSTANCE, PROJECT, testEmulator } from '../support/emulator.js';
import { capturedLogLines, registerSecret } from '../support/logs.js';

/**
 * The README's `serverless offline --stage local`: the bundled HTTP function behind
 * serverless-offline's API Gateway, with per-stage params pointing it at the emulator and moto.
 * It runs from a copy of the project, because serverless-esbuild builds in the project's `.esbuild/`,
 * which `serverless package` in the template test uses too.
 */

const HMAC_KEY = 'offline-hmac-key';
const BEARER = 'offline-bearer-token';
registerSecret(HMAC_KEY, BEARER);

let emulator: LakeFormationEmulator;
let offline: ChildProcess;
let output = '';
let url = '';
let dir = '';

beforeAll(async () => {
  const moto = useMoto();
  emulator = await testEmulator({ stopDelayMs: 30 });
  const { credentialsSecret, webhookSecret } = await createFunctionSecrets('offline', {
    hmacKeys: [HMAC_KEY],
    bearerTokens: [BEARER],
  });

  dir = await mkdtemp(join(tmpdir(), 'lf-offline-'));
  for (const entry of [
    'serverless.yml',
    'package.json',
    'tsconfig.json',
    'functions',
    'lib',
    'iam',
    'scripts',
  ]) {
    await cp(entry, join(dir, entry), { recursive: true });
  }
  await symlink(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'), 'dir');

  const [httpPort, lambdaPort] = [await freePort(), await freePort()];
  const params = {
    lakeFormationEndpoint: emulator.url,
    iamEndpoint: emulator.url,
    projectId: PROJECT,
    instanceId: INSTANCE,
    allowedInstanceIds: OTHER_INSTANCE,
    credentialsSecretId: credentialsSecret,
    webhookSecretId: webhookSecret,
    ledgerTable: inject('ledgerTable'),
    confirmQueueUrl: inject('confirmQueueUrl'),
    eventBusName: inject('eventBusName'),
  };
  offline = spawn(
    process.execPath,
    [
      join(process.cwd(), 'node_modules/osls/bin/serverless.js'),
      'offline',
      '--stage',
      'local',
      ...Object.entries(params).map(([key, value]) => `--param=${key}=${value}`),
      '--httpPort',
      String(httpPort),
      '--lambdaPort',
      String(lambdaPort),
    ],
    {
      cwd: dir,
      env: { ...process.env, AWS_ENDPOINT_URL: moto, SLS_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  offline.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  offline.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const until = Date.now() + 90_000;
  while (!output.includes('Server ready')) {
    if (offline.exitCode !== null || Date.now() > until) {
      throw new Error(`serverless offline did not start:\n${output.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  url = `http://127.0.0.1:${httpPort}`;
}, 120_000);

afterAll(async () => {
  if (offline && offline.exitCode === null) {
    offline.kill('SIGTERM');
    await Promise.race([once(offline, 'exit'), new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (offline.exitCode === null) offline.kill('SIGKILL');
  }
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  // the functions' log lines, printed by serverless-offline, are scanned for secrets with this file's own
  for (const line of output.split('\n')) if (line.startsWith('{')) capturedLogLines.push(line);
});

describe('serverless offline --stage local (the bundled HTTP function)', () => {
  it('stops a job for a signed request, reading its keys and credentials from Secrets Manager', async () => {
    const job = emulator.store.add(INSTANCE, {
      name: 'offline',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    const body = JSON.stringify({ reason: 'through serverless offline' });
    const timestamp = String(Math.floor(Date.now() / 1000));

    const response = await fetch(`${url}/jobs/${job.id}/stop`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Timestamp': timestamp,
        'X-Signature': signature(HMAC_KEY, timestamp, body),
      },
      body,
    });

    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({
      jobId: job.id,
      instanceId: INSTANCE,
      outcome: 'STOP_REQUESTED',
      stopId: expect.any(String),
    });
    expect(response.headers.get('location')).toMatch(/^\/stops\/[0-9a-f-]{36}$/);
    expect(emulator.store.get(INSTANCE, job.id)?.stopsAccepted).toBe(1);
  });

  it('routes the instance path to an allowed instance with a bearer token', async () => {
    const job = emulator.store.add(OTHER_INSTANCE, {
      name: 'other',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });

    const response = await fetch(`${url}/instances/${OTHER_INSTANCE}/jobs/${job.id}/stop`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${BEARER}` },
    });

    expect(response.status).toBe(202);
    expect(emulator.store.get(OTHER_INSTANCE, job.id)?.stopsAccepted).toBe(1);
  });

  it('answers an unauthenticated caller 401 problem+json without calling LakeFormation', async () => {
    const before = emulator.requests.length;

    const response = await fetch(`${url}/jobs/03141229-84cd-4b1b-9733-dd124320c125/stop`, { method: 'POST' });

    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(emulator.requests.length).toBe(before);
  });
});
