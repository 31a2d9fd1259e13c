import { ConfigError } from '../platform/config-error.js';
import { type CredentialSource, isAccessKey } from '../upstream/huawei/credentials.js';
import { isValidId } from '../upstream/lakeformation/ids.js';

export interface Config {
  region?: string;
  lakeFormationEndpoint: string;
  iamEndpoint: string;
  projectId: string;
  instanceId: string;
  /** Instances a request may name. Always contains {@link Config.instanceId}. */
  allowedInstanceIds: ReadonlySet<string>;
  credentials: CredentialSource;
  webhookSecretId?: string;
  /**
   * `WEBHOOK_SIGNED_JOB_REQUIRED`: a signed request must name its `jobId` in the body, so that its
   * signature cannot be replayed against another job's path within the timestamp window.
   */
  signedJobRequired: boolean;
  stopQueueUrl?: string;
  stopDlqUrl?: string;
  stopConcurrency: number;
  /** Parsed JSON of `STALE_JOB_POLICY`; its fields are validated by the reaper. */
  staleJobPolicy: unknown;
  /** `STOP_LEDGER_TABLE`: the DynamoDB table of the stop ledger. */
  ledgerTable?: string;
  /** `LEDGER_RETENTION_DAYS`: how long stop records are kept. */
  ledgerRetentionDays: number;
  /** `STOP_CONFIRM_QUEUE_URL`: the confirm queue (functions that can accept a stop send to it). */
  confirmQueueUrl?: string;
  /** `CONFIRM_FIRST_CHECK_SECONDS` and `CONFIRM_WINDOW_SECONDS`. */
  confirm: { firstCheckSeconds: number; windowSeconds: number };
  /** `STOP_EVENT_BUS_NAME`: the EventBridge bus of lifecycle events. */
  eventBusName?: string;
  /**
   * `RETRY_BASE_SECONDS`, `RETRY_MAX_SECONDS`: the visibility back-off of a queue message whose
   * stop (or check) failed for a retryable reason (domain/retry-policy.ts).
   */
  retryBackoff: { baseSeconds: number; maxSeconds: number };
  /**
   * `BREAKER_FIRST_PROBE_SECONDS`, `BREAKER_MAX_PROBE_SECONDS`: how long the queue and confirm
   * functions stop calling a LakeFormation that keeps failing before one probe call, at first and
   * at most (upstream/transport/flow.ts).
   */
  breaker: { firstProbeSeconds: number; maxProbeSeconds: number };
  /** `PUBLIC_BASE_URL`: the HTTP API's public base URL, for the snooze links of warnings. */
  publicBaseUrl?: string;
}

/** Settings that only some functions need; each function names the ones it requires. */
export type OptionalSetting =
  | 'webhookSecretId'
  | 'stopQueueUrl'
  | 'stopDlqUrl'
  | 'ledgerTable'
  | 'confirmQueueUrl'
  | 'eventBusName'
  | 'publicBaseUrl';

const VARIABLE_OF: Record<OptionalSetting, string> = {
  ledgerTable: 'STOP_LEDGER_TABLE',
  confirmQueueUrl: 'STOP_CONFIRM_QUEUE_URL',
  eventBusName: 'STOP_EVENT_BUS_NAME',
  webhookSecretId: 'WEBHOOK_SECRET_ID',
  stopQueueUrl: 'STOP_QUEUE_URL',
  stopDlqUrl: 'STOP_DLQ_URL',
  publicBaseUrl: 'PUBLIC_BASE_URL',
};

const REGION = /^[a-z]{2,}(-[a-z]+)+-\d{1,2}$/;
const MAX_CONCURRENCY = 100;

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function required(env: Env, name: string, hint = 'is required'): string {
  const value = read(env, name);
  if (value === undefined) throw new ConfigError(name, hint);
  return value;
}

function baseUrl(env: Env, name: string, fallback: string | undefined): string {
  const raw = read(env, name) ?? fallback;
  if (raw === undefined) throw new ConfigError(name, 'is required when LAKEFORMATION_REGION is not set');
  return checkedBaseUrl(name, raw);
}

function checkedBaseUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(name, `must be an http(s) URL, got ${url.protocol}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(name, 'must be a base URL without credentials, query or fragment');
  }
  return url.toString().replace(/\/+$/, '');
}

function id(name: string, value: string): string {
  if (!isValidId(value)) throw new ConfigError(name, 'must be 1-64 letters, digits or dashes');
  return value;
}

/**
 * The local-development access key: `HUAWEICLOUD_ACCESS_KEY` and `HUAWEICLOUD_SECRET_KEY` together,
 * `HUAWEICLOUD_SECURITY_TOKEN` for temporary keys; `undefined` when none of them is set.
 */
function accessKeyFromEnv(env: Env): CredentialSource | undefined {
  const accessKey = read(env, 'HUAWEICLOUD_ACCESS_KEY');
  const secretKey = read(env, 'HUAWEICLOUD_SECRET_KEY');
  const securityToken = read(env, 'HUAWEICLOUD_SECURITY_TOKEN');
  if (accessKey === undefined && secretKey === undefined) {
    if (securityToken !== undefined) {
      throw new ConfigError(
        'HUAWEICLOUD_SECURITY_TOKEN',
        'is used only with HUAWEICLOUD_ACCESS_KEY and HUAWEICLOUD_SECRET_KEY',
      );
    }
    return undefined;
  }
  if (accessKey === undefined)
    throw new ConfigError('HUAWEICLOUD_ACCESS_KEY', 'is required together with HUAWEICLOUD_SECRET_KEY');
  if (secretKey === undefined)
    throw new ConfigError('HUAWEICLOUD_SECRET_KEY', 'is required together with HUAWEICLOUD_ACCESS_KEY');
  if (!isAccessKey(accessKey)) {
    throw new ConfigError('HUAWEICLOUD_ACCESS_KEY', 'must be printable ASCII without spaces or commas');
  }
  return { kind: 'env-aksk', accessKey, secretKey, ...(securityToken !== undefined && { securityToken }) };
}

function credentials(env: Env): CredentialSource {
  const secretId = read(env, 'HUAWEICLOUD_CREDENTIALS_SECRET_ID');
  if (secretId !== undefined) return { kind: 'secret', secretId };
  const accessKey = accessKeyFromEnv(env);
  if (accessKey !== undefined) return accessKey;
  const trio = ['HUAWEICLOUD_USER_NAME', 'HUAWEICLOUD_PASSWORD', 'HUAWEICLOUD_DOMAIN_NAME'] as const;
  const present = trio.filter((name) => read(env, name) !== undefined);
  if (present.length === 0) {
    throw new ConfigError(
      'HUAWEICLOUD_CREDENTIALS_SECRET_ID',
      'is required (or, for local development, HUAWEICLOUD_ACCESS_KEY and HUAWEICLOUD_SECRET_KEY, or HUAWEICLOUD_USER_NAME, HUAWEICLOUD_PASSWORD and HUAWEICLOUD_DOMAIN_NAME)',
    );
  }
  const missing = trio.find((name) => read(env, name) === undefined);
  if (missing !== undefined) {
    throw new ConfigError(missing, `is required together with ${present.join(', ')}`);
  }
  return {
    kind: 'env',
    userName: required(env, 'HUAWEICLOUD_USER_NAME'),
    password: required(env, 'HUAWEICLOUD_PASSWORD'),
    domainName: required(env, 'HUAWEICLOUD_DOMAIN_NAME'),
  };
}

function concurrency(env: Env): number {
  const raw = read(env, 'STOP_CONCURRENCY');
  if (raw === undefined) return 10;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > MAX_CONCURRENCY) {
    throw new ConfigError('STOP_CONCURRENCY', `must be an integer from 1 to ${MAX_CONCURRENCY}, got ${raw}`);
  }
  return value;
}

/** A DynamoDB table name: 3-255 of `[A-Za-z0-9_.-]`. */
function tableName(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(raw)) {
    throw new ConfigError(name, `is not a DynamoDB table name: ${JSON.stringify(raw)}`);
  }
  return raw;
}

function seconds(env: Env, name: string, fallback: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > max) {
    throw new ConfigError(name, `must be a number of seconds from 1 to ${max}, got ${raw}`);
  }
  return value;
}

function backoff(env: Env): Config['retryBackoff'] {
  // a visibility timeout is whole seconds; the design caps the back-off at 15 minutes
  const baseSeconds = seconds(env, 'RETRY_BASE_SECONDS', 30, 900);
  const maxSeconds = seconds(env, 'RETRY_MAX_SECONDS', 600, 900);
  if (maxSeconds < baseSeconds) {
    throw new ConfigError(
      'RETRY_MAX_SECONDS',
      `must not be below RETRY_BASE_SECONDS (${baseSeconds}), got ${maxSeconds}`,
    );
  }
  return { baseSeconds, maxSeconds };
}

function probes(env: Env): Config['breaker'] {
  const firstProbeSeconds = seconds(env, 'BREAKER_FIRST_PROBE_SECONDS', 5, 300);
  const maxProbeSeconds = seconds(env, 'BREAKER_MAX_PROBE_SECONDS', 300, 300);
  if (maxProbeSeconds < firstProbeSeconds) {
    throw new ConfigError(
      'BREAKER_MAX_PROBE_SECONDS',
      `must not be below BREAKER_FIRST_PROBE_SECONDS (${firstProbeSeconds}), got ${maxProbeSeconds}`,
    );
  }
  return { firstProbeSeconds, maxProbeSeconds };
}

function retentionDays(env: Env): number {
  const raw = read(env, 'LEDGER_RETENTION_DAYS');
  if (raw === undefined) return 90;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 3650) {
    throw new ConfigError('LEDGER_RETENTION_DAYS', `must be a number of days from 1 to 3650, got ${raw}`);
  }
  return value;
}

function queueUrl(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a queue URL: ${JSON.stringify(raw)}`);
  }
  return raw;
}

function flag(env: Env, name: string): boolean {
  const raw = read(env, name);
  if (raw === undefined) return false;
  if (/^true$/i.test(raw)) return true;
  if (/^false$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
}

function staleJobPolicy(env: Env): unknown {
  const raw = read(env, 'STALE_JOB_POLICY');
  if (raw === undefined) return {};
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new ConfigError('STALE_JOB_POLICY', `is not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Parses and validates the environment. Pure: it reads only `env`, so it is easy to test; handlers
 * use `getConfig` (container.ts), which parses once per container.
 *
 * @param needs optional settings the calling function cannot work without
 * @throws {ConfigError} naming the first variable that is missing or malformed
 * @example
 * const config = parseConfig(process.env, ['webhookSecretId']);
 */
export function parseConfig<N extends OptionalSetting = never>(
  env: Env,
  needs: readonly N[] = [],
): Config & Required<Pick<Config, N>> {
  const region = read(env, 'LAKEFORMATION_REGION');
  if (region !== undefined && !REGION.test(region)) {
    throw new ConfigError(
      'LAKEFORMATION_REGION',
      `is not a Huawei Cloud region name such as cn-north-4: ${region}`,
    );
  }
  const lakeFormationEndpoint = baseUrl(
    env,
    'LAKEFORMATION_ENDPOINT',
    region && `https://lakeformation.${region}.myhuaweicloud.com`,
  );
  const iamEndpoint = baseUrl(
    env,
    'HUAWEICLOUD_IAM_ENDPOINT',
    region && `https://iam.${region}.myhuaweicloud.com`,
  );
  const projectId = id('LAKEFORMATION_PROJECT_ID', required(env, 'LAKEFORMATION_PROJECT_ID'));
  const instanceId = id('LAKEFORMATION_INSTANCE_ID', required(env, 'LAKEFORMATION_INSTANCE_ID'));

  const allowed = new Set([instanceId]);
  for (const entry of (read(env, 'LAKEFORMATION_ALLOWED_INSTANCE_IDS') ?? '').split(',')) {
    const value = entry.trim();
    if (value !== '') allowed.add(id('LAKEFORMATION_ALLOWED_INSTANCE_IDS', value));
  }

  const config: Config = {
    ...(region !== undefined && { region }),
    lakeFormationEndpoint,
    iamEndpoint,
    projectId,
    instanceId,
    allowedInstanceIds: allowed,
    credentials: credentials(env),
    signedJobRequired: flag(env, 'WEBHOOK_SIGNED_JOB_REQUIRED'),
    stopConcurrency: concurrency(env),
    staleJobPolicy: staleJobPolicy(env),
    ledgerRetentionDays: retentionDays(env),
    confirm: {
      // SQS holds a message back at most 15 minutes
      firstCheckSeconds: seconds(env, 'CONFIRM_FIRST_CHECK_SECONDS', 30, 900),
      windowSeconds: seconds(env, 'CONFIRM_WINDOW_SECONDS', 1800, 7 * 24 * 3600),
    },
    retryBackoff: backoff(env),
    breaker: probes(env),
  };
  const webhookSecretId = read(env, 'WEBHOOK_SECRET_ID');
  if (webhookSecretId !== undefined) config.webhookSecretId = webhookSecretId;
  const stopQueueUrl = queueUrl(env, 'STOP_QUEUE_URL');
  if (stopQueueUrl !== undefined) config.stopQueueUrl = stopQueueUrl;
  const stopDlqUrl = queueUrl(env, 'STOP_DLQ_URL');
  if (stopDlqUrl !== undefined) config.stopDlqUrl = stopDlqUrl;
  const ledgerTable = tableName(env, 'STOP_LEDGER_TABLE');
  if (ledgerTable !== undefined) config.ledgerTable = ledgerTable;
  const confirmQueueUrl = queueUrl(env, 'STOP_CONFIRM_QUEUE_URL');
  if (confirmQueueUrl !== undefined) config.confirmQueueUrl = confirmQueueUrl;
  const eventBusName = read(env, 'STOP_EVENT_BUS_NAME');
  if (eventBusName !== undefined) {
    if (!/^[A-Za-z0-9._\-/:]{1,256}$/.test(eventBusName)) {
      throw new ConfigError(
        'STOP_EVENT_BUS_NAME',
        `is not an EventBridge bus name or ARN: ${JSON.stringify(eventBusName)}`,
      );
    }
    config.eventBusName = eventBusName;
  }
  const publicBaseUrl = read(env, 'PUBLIC_BASE_URL');
  if (publicBaseUrl !== undefined) config.publicBaseUrl = checkedBaseUrl('PUBLIC_BASE_URL', publicBaseUrl);

  return requireSettings(config, needs);
}

/**
 * `config`, once it is known to hold the optional settings a function cannot work without.
 *
 * @throws {ConfigError} naming the variable of the first one missing
 */
export function requireSettings<N extends OptionalSetting = never>(
  config: Config,
  needs: readonly N[],
): Config & Required<Pick<Config, N>> {
  for (const setting of needs) {
    if (config[setting] === undefined)
      throw new ConfigError(VARIABLE_OF[setting], 'is required by this function');
  }
  return config as Config & Required<Pick<Config, N>>;
}
