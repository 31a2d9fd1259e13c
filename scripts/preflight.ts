import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMain } from '../cli/is-main.js';
import {
  getConfig,
  getLakeFormationClient,
  getStalePolicy,
  loadWebhookKeys,
  resetContainer,
} from '../lib/container/container.js';
import { warnsBeforeStopping } from '../lib/domain/reaper/policy.js';
import { JOB_TYPES } from '../lib/upstream/lakeformation/job.js';

/**
 * `npm run preflight -- --stage prod [--region eu-west-1] [--param name=value]`: checks a stage
 * before `serverless deploy`, as its functions would meet it at their first cold start: the
 * configuration serverless.yml gives them (required params set, every value valid, the reaper
 * policy), the two secrets (readable, well-formed, link keys when the policy warns), and the Huawei
 * credentials (LakeFormation lists the jobs of every allowed instance with them). Read-only: nothing
 * is created, stopped or changed. Exit 0 when every check passes, 1 when one fails, 2 for a usage
 * error.
 */

export const USAGE = `usage: npm run preflight -- --stage <stage> [--region <aws region>] [--param <name>=<value>]...

  Checks the stage's params, its two secrets (AWS credentials of the target account needed) and its
  Huawei credentials against LakeFormation, before a deploy. Read-only.`;

export interface PreflightIo {
  /** The resolved serverless.yml of a stage (\`serverless print\`). */
  print(args: string[]): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

type Env = Record<string, string | undefined>;

/** The serverless.yml param behind each variable a refusal may name. */
const PARAM_OF: Record<string, string> = {
  LAKEFORMATION_PROJECT_ID: 'projectId',
  LAKEFORMATION_INSTANCE_ID: 'instanceId',
  LAKEFORMATION_REGION: 'lakeFormationRegion',
  LAKEFORMATION_ENDPOINT: 'lakeFormationEndpoint',
  HUAWEICLOUD_IAM_ENDPOINT: 'iamEndpoint',
  LAKEFORMATION_ALLOWED_INSTANCE_IDS: 'allowedInstanceIds',
  STALE_JOB_POLICY: 'staleJobPolicy',
  STOP_CONCURRENCY: 'stopConcurrency',
};

interface Check {
  name: string;
  run: () => Promise<string>;
}

/** The environment a function of the stage gets: the provider's, then the function's own; values the stack resolves (a Ref) left out. */
function functionEnv(config: Record<string, unknown>, fn: string): Env {
  const provider =
    (config.provider as { environment?: Record<string, unknown> } | undefined)?.environment ?? {};
  const own =
    (config.functions as Record<string, { environment?: Record<string, unknown> }> | undefined)?.[fn]
      ?.environment ?? {};
  const env: Env = {};
  for (const [name, value] of Object.entries({ ...provider, ...own })) {
    if (typeof value === 'string') env[name] = value;
  }
  return env;
}

/** Runs `check` with `env` as the whole configuration the container reads. */
async function inContainer<T>(env: Env, region: string, check: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const name of Object.keys(process.env)) {
    // keep what reaches AWS and this process; drop any configuration of another stage
    if (!/^(AWS_|PATH$|HOME$|NODE_|TMPDIR$)/.test(name)) delete process.env[name];
  }
  Object.assign(process.env, env, { AWS_REGION: region, POWERTOOLS_LOG_LEVEL: 'SILENT' });
  resetContainer();
  try {
    return await check();
  } finally {
    for (const name of Object.keys(process.env)) delete process.env[name];
    Object.assign(process.env, saved);
    resetContainer();
  }
}

export async function main(argv: string[], io: PreflightIo): Promise<number> {
  let values: { stage?: string; region?: string; param?: string[]; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        stage: { type: 'string' },
        region: { type: 'string' },
        param: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.err(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const stage = values.stage;
  if (!stage || !/^[a-zA-Z0-9-]{1,32}$/.test(stage)) {
    io.err(
      `error: --stage must name a stage of serverless.yml (letters, digits, dashes), got ${JSON.stringify(stage ?? '')}\n\n${USAGE}`,
    );
    return 2;
  }
  const params = values.param ?? [];
  const bad = params.find((param) => !/^[A-Za-z][A-Za-z0-9]*=/.test(param));
  if (bad !== undefined) {
    io.err(`error: --param must be <name>=<value>, got ${JSON.stringify(bad)}`);
    return 2;
  }

  let config: Record<string, unknown>;
  try {
    const printed = await io.print([
      'print',
      '--stage',
      stage,
      '--format',
      'json',
      ...(values.region ? ['--region', values.region] : []),
      ...params.flatMap((param) => ['--param', param]),
    ]);
    config = JSON.parse(printed) as Record<string, unknown>;
  } catch (error) {
    io.err(
      `error: serverless.yml could not be read for stage ${stage}: ${(error as Error).message.split('\n').slice(-3).join(' ').trim()}`,
    );
    return 1;
  }
  const region = values.region ?? String((config.provider as { region?: string }).region ?? 'eu-west-1');
  // the reaper's environment holds every setting but the webhook's own (WEBHOOK_SIGNED_JOB_REQUIRED)
  const env = { ...functionEnv(config, 'stopJob'), ...functionEnv(config, 'stopStaleJobs') };

  let configured = false;
  let warns = false;
  const checks: Check[] = [
    {
      name: 'configuration',
      run: () =>
        inContainer(env, region, async () => {
          const parsed = getConfig(['webhookSecretId']);
          configured = true;
          const instances = [...parsed.allowedInstanceIds].join(', ');
          return `project ${parsed.projectId}, instances ${instances}, LakeFormation ${parsed.lakeFormationEndpoint}`;
        }),
    },
    {
      name: 'reaper policy',
      run: () =>
        inContainer(env, region, async () => {
          const policy = getStalePolicy();
          warns = warnsBeforeStopping(policy);
          return `limit ${policy.maxRunMinutes} min, ${policy.rules.length} rule(s), warnings ${warns ? 'on' : 'off'}${policy.dryRun ? ', dry run' : ''}`;
        }),
    },
    {
      name: `webhook secret ${env.WEBHOOK_SECRET_ID ?? ''}`.trim(),
      run: () =>
        inContainer(env, region, async () => {
          const keys = await loadWebhookKeys();
          if (warns && (keys.linkKeys ?? []).length === 0) {
            throw new Error(
              'holds no linkKeys: the policy warns, and its warnings would carry no snooze link',
            );
          }
          return `${keys.hmacKeys.length} HMAC key(s), ${keys.bearerTokens.length} bearer token(s), ${(keys.linkKeys ?? []).length} link key(s)`;
        }),
    },
    {
      name: `Huawei credentials ${env.HUAWEICLOUD_CREDENTIALS_SECRET_ID ?? ''}`.trim(),
      run: () =>
        inContainer(env, region, async () => {
          const { allowedInstanceIds } = getConfig();
          const client = getLakeFormationClient();
          const counts: string[] = [];
          for (const instanceId of allowedInstanceIds) {
            const page = await client.listJobs(
              { instanceId, type: JOB_TYPES[0], limit: 1 },
              { deadline: Date.now() + 20_000 },
            );
            counts.push(`${instanceId}: ${page.total} ${JOB_TYPES[0]} job(s)`);
          }
          return `LakeFormation lists jobs with them (${counts.join('; ')})`;
        }),
    },
  ];

  let failed = 0;
  let skipped = 0;
  io.out(`preflight of stage ${stage} (AWS region ${region})`);
  for (const check of checks) {
    if (!configured && check.name !== 'configuration') {
      io.out(`  -  ${check.name}: not checked (the configuration is not valid)`);
      skipped++;
      continue;
    }
    try {
      io.out(`  ok ${check.name}: ${await check.run()}`);
    } catch (error) {
      failed++;
      const message = (error as Error).message;
      const param = PARAM_OF[message.split(':')[0] ?? ''];
      io.out(`  !! ${check.name}: ${message}${param ? ` (serverless.yml: params.${stage}.${param})` : ''}`);
    }
  }
  const unchecked = skipped > 0 ? `, ${skipped} not checked` : '';
  io.out(failed === 0 ? 'ready to deploy' : `${failed} check(s) failed${unchecked}: not ready to deploy`);
  return failed === 0 ? 0 : 1;
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2), {
    print: (args) =>
      new Promise((resolve, reject) => {
        execFile(
          process.execPath,
          [fileURLToPath(new URL('../node_modules/osls/bin/serverless.js', import.meta.url)), ...args],
          { env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' }, maxBuffer: 16 * 1024 * 1024 },
          (error, stdout, stderr) =>
            error ? reject(new Error(`${stderr || stdout || error.message}`)) : resolve(stdout),
        );
      }),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
