import { execFile } from 'node:child_process';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { main } from '../../scripts/preflight.js';
import { createFunctionSecrets, uniqueName, useMoto } from '../support/aws.js';
import { testEmulator, USER } from '../support/emulator.js';
import { registerSecret } from '../support/logs.js';

/** `npm run preflight` against secrets on moto and the emulator, through serverless.yml as `serverless print` resolves it. */
let emulator: LakeFormationEmulator;
let secrets: { credentialsSecret: string; webhookSecret: string };

const print = (args: string[]) =>
  new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['node_modules/osls/bin/serverless.js', ...args],
      { env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(stderr || stdout)) : resolve(stdout)),
    );
  });

async function preflight(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { print, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  useMoto();
  emulator = await testEmulator();
  registerSecret('preflight-link-key-0123456789abcdefghij');
  secrets = await createFunctionSecrets('preflight', {
    bearerTokens: ['preflight-bearer'],
    linkKeys: ['preflight-link-key-0123456789abcdefghij'],
  } as never);
}, 60_000);

afterAll(async () => {
  await emulator?.close();
});

/** The local stage, pointed at this file's emulator and secrets. */
const stage = (extra: string[] = []) => [
  '--stage',
  'local',
  '--region',
  'eu-west-1',
  '--param',
  `lakeFormationEndpoint=${emulator.url}`,
  '--param',
  `iamEndpoint=${emulator.url}`,
  '--param',
  `credentialsSecretId=${secrets.credentialsSecret}`,
  '--param',
  `webhookSecretId=${secrets.webhookSecret}`,
  ...extra,
];

describe('npm run preflight', () => {
  it('passes a stage whose params, secrets and Huawei credentials are right, reading nothing it should not', async () => {
    const { code, out } = await preflight(...stage());
    expect(out.split('\n')).toEqual([
      'preflight of stage local (AWS region eu-west-1)',
      expect.stringMatching(
        /^ {2}ok configuration: project 0a1b2c3d4e5f60718293a4b5c6d7e8f9, instances 2180518f-/,
      ),
      '  ok reaper policy: limit 240 min, 0 rule(s), warnings off',
      `  ok webhook secret ${secrets.webhookSecret}: 0 HMAC key(s), 1 bearer token(s), 1 link key(s)`,
      expect.stringMatching(
        new RegExp(
          `^ {2}ok Huawei credentials ${secrets.credentialsSecret}: LakeFormation lists jobs with them`,
        ),
      ),
      'ready to deploy',
    ]);
    expect(code).toBe(0);
    expect(out).not.toContain(USER.password);
    // read-only: only sign-in and list calls reached LakeFormation
    const calls = emulator.requests.map((request) => `${request.method} ${request.path.split('?')[0]}`);
    expect(calls).toContain('POST /v3/auth/tokens');
    expect(calls.every((call) => /^(POST \/v3\/auth\/tokens|GET \/v1\/.*\/lf-jobs)$/.test(call))).toBe(true);
  }, 60_000);

  it('refuses a stage with an empty required param, naming the param', async () => {
    const { code, out } = await preflight('--stage', 'dev');
    expect(code).toBe(1);
    expect(out).toContain(
      '!! configuration: LAKEFORMATION_PROJECT_ID: is required (serverless.yml: params.dev.projectId)',
    );
    // one check failed; the three that need a valid configuration were not made
    expect(out).toContain('1 check(s) failed, 3 not checked: not ready to deploy');
  }, 60_000);

  it('names a secret that cannot be read, and a policy that warns without link keys', async () => {
    const missing = uniqueName('preflight-missing');
    const bare = uniqueName('preflight-keys');
    await new SecretsManagerClient({}).send(
      new CreateSecretCommand({ Name: bare, SecretString: JSON.stringify({ bearerTokens: ['b'] }) }),
    );
    const { code, out } = await preflight(
      ...stage([
        '--param',
        `credentialsSecretId=${missing}`,
        '--param',
        `webhookSecretId=${bare}`,
        '--param',
        'staleJobPolicy={"warnMinutes":30}',
      ]),
    );
    expect(code).toBe(1);
    expect(out).toContain(`!! webhook secret ${bare}: holds no linkKeys: the policy warns`);
    expect(out).toMatch(new RegExp(`!! Huawei credentials ${missing}: .*${missing}`));
    expect(out).toContain('2 check(s) failed: not ready to deploy');
  }, 60_000);

  it.each([
    [[], '--stage must name a stage'],
    [['--stage', 'prod', '--param', 'oops'], '--param must be <name>=<value>, got "oops"'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('refuses %j as a usage error', async (argv, message) => {
    const { code, err } = await preflight(...argv);
    expect(code).toBe(2);
    expect(err).toContain(message);
  });
});

describe('serverless package of a stage with empty required params', () => {
  it('fails at once, naming the params and where to set them', async () => {
    const failure = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(
        process.execPath,
        ['node_modules/osls/bin/serverless.js', 'package', '--stage', 'dev', '--package', '.tmp/never'],
        { env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' } },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, output: `${stdout}${stderr}` }),
      );
    });
    expect(failure.code).toBe(1);
    expect(failure.output).toContain(
      'stage dev: projectId is empty; instanceId is empty. Set them in serverless.yml under params.dev',
    );
  }, 60_000);
});
