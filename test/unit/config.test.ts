import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/container/config.js';
import { ConfigError } from '../../lib/platform/config-error.js';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';

function env(overrides: Record<string, string | undefined> = {}) {
  return {
    LAKEFORMATION_REGION: 'cn-north-4',
    LAKEFORMATION_PROJECT_ID: PROJECT,
    LAKEFORMATION_INSTANCE_ID: INSTANCE,
    HUAWEICLOUD_CREDENTIALS_SECRET_ID: 'creds',
    ...overrides,
  };
}

function failure(vars: Record<string, string | undefined>, needs: Parameters<typeof parseConfig>[1] = []) {
  try {
    parseConfig(vars, needs);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('Function: parseConfig()', () => {
  it('derives both endpoints from the region and applies the defaults', () => {
    const config = parseConfig(env());
    expect(config).toEqual({
      region: 'cn-north-4',
      lakeFormationEndpoint: 'https://lakeformation.cn-north-4.myhuaweicloud.com',
      iamEndpoint: 'https://iam.cn-north-4.myhuaweicloud.com',
      projectId: PROJECT,
      instanceId: INSTANCE,
      allowedInstanceIds: new Set([INSTANCE]),
      credentials: { kind: 'secret', secretId: 'creds' },
      signedJobRequired: false,
      stopConcurrency: 10,
      staleJobPolicy: {},
      ledgerRetentionDays: 90,
      confirm: { firstCheckSeconds: 30, windowSeconds: 1800 },
      retryBackoff: { baseSeconds: 30, maxSeconds: 600 },
      breaker: { firstProbeSeconds: 5, maxProbeSeconds: 300 },
    });
  });

  it('reads the retry back-off and the breaker probes, and refuses a maximum below its start', () => {
    const vars = env({
      RETRY_BASE_SECONDS: '1',
      RETRY_MAX_SECONDS: '4',
      BREAKER_FIRST_PROBE_SECONDS: '1',
      BREAKER_MAX_PROBE_SECONDS: '2',
    });
    expect(parseConfig(vars)).toMatchObject({
      retryBackoff: { baseSeconds: 1, maxSeconds: 4 },
      breaker: { firstProbeSeconds: 1, maxProbeSeconds: 2 },
    });
    expect(() => parseConfig({ ...vars, RETRY_MAX_SECONDS: '0' })).toThrow(/RETRY_MAX_SECONDS/);
    expect(() => parseConfig({ ...vars, RETRY_BASE_SECONDS: '8' })).toThrow(
      /RETRY_MAX_SECONDS.*not be below/,
    );
    expect(() => parseConfig({ ...vars, RETRY_MAX_SECONDS: '901' })).toThrow(/RETRY_MAX_SECONDS/);
    expect(() => parseConfig({ ...vars, BREAKER_MAX_PROBE_SECONDS: '301' })).toThrow(
      /BREAKER_MAX_PROBE_SECONDS/,
    );
  });

  it('needs no region when both endpoints are set, and strips trailing slashes', () => {
    const config = parseConfig(
      env({
        LAKEFORMATION_REGION: undefined,
        LAKEFORMATION_ENDPOINT: 'http://127.0.0.1:4010/',
        HUAWEICLOUD_IAM_ENDPOINT: 'http://127.0.0.1:4010',
      }),
    );
    expect(config.lakeFormationEndpoint).toBe('http://127.0.0.1:4010');
    expect(config.iamEndpoint).toBe('http://127.0.0.1:4010');
    expect(config.region).toBeUndefined();
  });

  it('names the endpoint that is missing when there is no region', () => {
    const error = failure(
      env({ LAKEFORMATION_REGION: undefined, LAKEFORMATION_ENDPOINT: 'http://127.0.0.1:1' }),
    );
    expect(error.variable).toBe('HUAWEICLOUD_IAM_ENDPOINT');
  });

  it.each([
    ['LAKEFORMATION_PROJECT_ID', undefined],
    ['LAKEFORMATION_PROJECT_ID', '../x'],
    ['LAKEFORMATION_INSTANCE_ID', ''],
    ['LAKEFORMATION_INSTANCE_ID', 'a b'],
    ['LAKEFORMATION_REGION', 'north'],
    ['LAKEFORMATION_ENDPOINT', 'not a url'],
    ['LAKEFORMATION_ENDPOINT', 'ftp://host'],
    ['HUAWEICLOUD_IAM_ENDPOINT', 'https://user:pw@iam.example.com'],
    ['LAKEFORMATION_ALLOWED_INSTANCE_IDS', 'ok-1,bad/2'],
    ['STOP_CONCURRENCY', '0'],
    ['STOP_CONCURRENCY', '101'],
    ['STOP_CONCURRENCY', '2.5'],
    ['STOP_CONCURRENCY', 'ten'],
    ['STALE_JOB_POLICY', '{not json'],
    ['STOP_QUEUE_URL', 'queue'],
  ])('fails naming %s when it is %j', (variable, value) => {
    const error = failure(env({ [variable]: value }));
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
  });

  it('trims blanks around values, and reads a blank value as unset', () => {
    const config = parseConfig(
      env({
        LAKEFORMATION_PROJECT_ID: ` ${PROJECT}\n`,
        LAKEFORMATION_INSTANCE_ID: `${INSTANCE} `,
        STOP_CONCURRENCY: ' 20 ',
        WEBHOOK_SECRET_ID: '   ',
      }),
    );
    expect(config).toMatchObject({ projectId: PROJECT, instanceId: INSTANCE, stopConcurrency: 20 });
    expect(config.webhookSecretId).toBeUndefined();
  });

  it('always allows the default instance and adds the listed ones', () => {
    const config = parseConfig(env({ LAKEFORMATION_ALLOWED_INSTANCE_IDS: ' other-1 , other-2,, ' }));
    expect([...config.allowedInstanceIds]).toEqual([INSTANCE, 'other-1', 'other-2']);
  });

  it('takes the local-development trio when no secret is configured', () => {
    const config = parseConfig(
      env({
        HUAWEICLOUD_CREDENTIALS_SECRET_ID: undefined,
        HUAWEICLOUD_USER_NAME: 'u',
        HUAWEICLOUD_PASSWORD: 'p',
        HUAWEICLOUD_DOMAIN_NAME: 'd',
      }),
    );
    expect(config.credentials).toEqual({ kind: 'env', userName: 'u', password: 'p', domainName: 'd' });
  });

  it('names the missing member of an incomplete trio without quoting the password', () => {
    const error = failure(
      env({
        HUAWEICLOUD_CREDENTIALS_SECRET_ID: undefined,
        HUAWEICLOUD_USER_NAME: 'u',
        HUAWEICLOUD_PASSWORD: 'pw-123',
      }),
    );
    expect(error.variable).toBe('HUAWEICLOUD_DOMAIN_NAME');
    expect(error.message).toContain('is required together with HUAWEICLOUD_USER_NAME, HUAWEICLOUD_PASSWORD');
    expect(error.message).not.toContain('pw-123');
  });

  it('requires a credential source', () => {
    expect(failure(env({ HUAWEICLOUD_CREDENTIALS_SECRET_ID: undefined })).variable).toBe(
      'HUAWEICLOUD_CREDENTIALS_SECRET_ID',
    );
  });

  it.each([
    ['webhookSecretId', 'WEBHOOK_SECRET_ID'],
    ['stopQueueUrl', 'STOP_QUEUE_URL'],
    ['stopDlqUrl', 'STOP_DLQ_URL'],
  ] as const)('fails when a function needs %s and %s is unset', (setting, variable) => {
    expect(failure(env(), [setting]).variable).toBe(variable);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    [' true ', true],
    ['false', false],
    ['False', false],
    ['', false],
  ])('reads WEBHOOK_SIGNED_JOB_REQUIRED %j as %s', (value, expected) => {
    expect(parseConfig(env({ WEBHOOK_SIGNED_JOB_REQUIRED: value })).signedJobRequired).toBe(expected);
  });

  it.each(['yes', '1', 'on'])('refuses WEBHOOK_SIGNED_JOB_REQUIRED %j, naming the variable', (value) => {
    expect(failure(env({ WEBHOOK_SIGNED_JOB_REQUIRED: value })).message).toBe(
      `WEBHOOK_SIGNED_JOB_REQUIRED: must be true or false, got "${value}"`,
    );
  });

  it('parses the function-specific settings when present', () => {
    const config = parseConfig(
      env({
        WEBHOOK_SECRET_ID: 'hooks',
        STOP_QUEUE_URL: 'http://127.0.0.1:5000/123456789012/stop',
        STOP_DLQ_URL: 'http://127.0.0.1:5000/123456789012/stop-dlq',
        STOP_CONCURRENCY: '50',
        STALE_JOB_POLICY: '{"maxRunMinutes": 60}',
      }),
      ['webhookSecretId', 'stopQueueUrl', 'stopDlqUrl'],
    );
    expect(config).toMatchObject({
      webhookSecretId: 'hooks',
      stopQueueUrl: 'http://127.0.0.1:5000/123456789012/stop',
      stopDlqUrl: 'http://127.0.0.1:5000/123456789012/stop-dlq',
      stopConcurrency: 50,
      staleJobPolicy: { maxRunMinutes: 60 },
    });
  });
});
