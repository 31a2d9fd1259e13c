import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/container/config.js';
import { resetContainer } from '../../lib/container/container.js';
import { ConfigError } from '../../lib/platform/config-error.js';
import { credentialsLoader, parseCredentialsSecret } from '../../lib/upstream/huawei/credentials.js';
import { AccessKeyCredentialsError, CredentialsConfigError } from '../../lib/upstream/huawei/errors.js';
import { createTokenProvider } from '../../lib/upstream/huawei/token-provider.js';
import { fakeFetch } from '../support/fake-fetch.js';

const secretsManager = mockClient(SecretsManagerClient);
const SECRET = 'lf-job-stopper/test/huaweicloud-credentials';
const SK = 'unit-secret-key-do-not-log';
const STS = 'unit-security-token-do-not-log';

beforeEach(() => {
  secretsManager.reset();
  resetContainer();
});

/** The error `parse` throws, serialised with every own property (what a log line could carry). */
function thrown(parse: () => unknown): { error: Error; serialised: string } {
  try {
    parse();
  } catch (error) {
    return {
      error: error as Error,
      serialised: JSON.stringify(error, Object.getOwnPropertyNames(error)),
    };
  }
  throw new Error('expected an error');
}

describe('Function: parseCredentialsSecret(), the AK/SK form', () => {
  it('reads {"accessKey","secretKey"} as an access key', () => {
    expect(parseCredentialsSecret(SECRET, { accessKey: 'HPUAKEY1', secretKey: SK })).toEqual({
      kind: 'aksk',
      accessKey: 'HPUAKEY1',
      secretKey: SK,
    });
  });

  it('keeps the securityToken of temporary credentials', () => {
    expect(
      parseCredentialsSecret(SECRET, { accessKey: 'HPUAKEY1', secretKey: SK, securityToken: STS }),
    ).toEqual({ kind: 'aksk', accessKey: 'HPUAKEY1', secretKey: SK, securityToken: STS });
  });

  it('decides by the fields: an access key wins over a token or a password also present', () => {
    const credentials = parseCredentialsSecret(SECRET, {
      accessKey: 'HPUAKEY1',
      secretKey: SK,
      token: 'pre-issued',
      userName: 'u',
      password: 'p',
      domainName: 'd',
    });
    expect(credentials.kind).toBe('aksk');
  });

  it.each([
    [{ accessKey: 'HPUAKEY1' }, 'missing secretKey'],
    [{ secretKey: SK }, 'missing accessKey'],
    [{ accessKey: '', secretKey: SK }, 'missing accessKey'],
    [{ accessKey: 'HPUAKEY1', secretKey: 42 }, 'missing secretKey'],
    [{ accessKey: 'HPUA KEY', secretKey: SK }, 'accessKey must be printable ASCII without spaces or commas'],
    [{ accessKey: 'HPUA,KEY', secretKey: SK }, 'accessKey must be printable ASCII without spaces or commas'],
    [{ accessKey: 'HPUAKEY1', secretKey: SK, securityToken: '' }, 'securityToken, when present'],
    [{ accessKey: 'HPUAKEY1', secretKey: SK, securityToken: 7 }, 'securityToken, when present'],
  ])('rejects %j, naming the field (%s) and never a value', (data, message) => {
    const { error, serialised } = thrown(() => parseCredentialsSecret(SECRET, data));
    expect(error).toBeInstanceOf(CredentialsConfigError);
    expect(error.message).toContain(SECRET);
    expect(error.message).toContain(message);
    expect(error.message).toContain('{"accessKey","secretKey"');
    expect(serialised).not.toContain(SK);
    expect(serialised).not.toContain('HPUA');
  });

  it('names the AK/SK form among the forms when the secret holds none of them', () => {
    const { error } = thrown(() => parseCredentialsSecret(SECRET, { user: 'x' }));
    expect(error.message).toContain(
      '{"accessKey","secretKey"}, {"userName","password","domainName"} or {"token"}',
    );
  });
});

describe('Function: credentialsLoader(), an access key', () => {
  it('loads an AK/SK secret through the single-flight read', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ accessKey: 'HPUAKEY1', secretKey: SK }) });
    const loader = credentialsLoader({ kind: 'secret', secretId: SECRET });

    const loaded = await Promise.all([loader.load(), loader.load(), loader.load()]);

    expect(loaded.every((c) => c.kind === 'aksk' && c.secretKey === SK)).toBe(true);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('uses the local-development access key without touching Secrets Manager', async () => {
    const loader = credentialsLoader({
      kind: 'env-aksk',
      accessKey: 'HPUAKEY1',
      secretKey: SK,
      securityToken: STS,
    });
    expect(await loader.load()).toEqual({
      kind: 'aksk',
      accessKey: 'HPUAKEY1',
      secretKey: SK,
      securityToken: STS,
    });
    expect(secretsManager.calls()).toHaveLength(0);
  });
});

describe('Function: createTokenProvider() given an access key', () => {
  it('asks IAM for nothing and says the credentials sign requests instead', async () => {
    const fetch = fakeFetch([]);
    const tokens = createTokenProvider({
      iamEndpoint: 'https://iam.example.com',
      projectId: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
      credentials: credentialsLoader({ kind: 'env-aksk', accessKey: 'HPUAKEY1', secretKey: SK }),
      fetch,
    });

    const error = await tokens.getToken().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AccessKeyCredentialsError);
    expect(error).toBeInstanceOf(CredentialsConfigError);
    expect(fetch.calls).toHaveLength(0);
  });
});

describe('Function: parseConfig(), the local-development access key', () => {
  const base = {
    LAKEFORMATION_REGION: 'cn-north-4',
    LAKEFORMATION_PROJECT_ID: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
    LAKEFORMATION_INSTANCE_ID: '2180518f-42b8-4947-b20b-adfc53981a25',
  };

  function configError(env: Record<string, string>): ConfigError {
    const { error, serialised } = thrown(() => parseConfig({ ...base, ...env }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(serialised).not.toContain(SK);
    expect(serialised).not.toContain(STS);
    return error as ConfigError;
  }

  it('takes HUAWEICLOUD_ACCESS_KEY, HUAWEICLOUD_SECRET_KEY and HUAWEICLOUD_SECURITY_TOKEN', () => {
    const config = parseConfig({
      ...base,
      HUAWEICLOUD_ACCESS_KEY: 'HPUAKEY1',
      HUAWEICLOUD_SECRET_KEY: SK,
      HUAWEICLOUD_SECURITY_TOKEN: STS,
    });
    expect(config.credentials).toEqual({
      kind: 'env-aksk',
      accessKey: 'HPUAKEY1',
      secretKey: SK,
      securityToken: STS,
    });
  });

  it('prefers the access key to the password trio, and the secret to both', () => {
    const trio = { HUAWEICLOUD_USER_NAME: 'u', HUAWEICLOUD_PASSWORD: 'p', HUAWEICLOUD_DOMAIN_NAME: 'd' };
    const keys = { HUAWEICLOUD_ACCESS_KEY: 'HPUAKEY1', HUAWEICLOUD_SECRET_KEY: SK };
    expect(parseConfig({ ...base, ...trio, ...keys }).credentials.kind).toBe('env-aksk');
    expect(
      parseConfig({ ...base, ...trio, ...keys, HUAWEICLOUD_CREDENTIALS_SECRET_ID: 'creds' }).credentials,
    ).toEqual({ kind: 'secret', secretId: 'creds' });
  });

  it.each([
    [{ HUAWEICLOUD_ACCESS_KEY: 'HPUAKEY1' }, 'HUAWEICLOUD_SECRET_KEY'],
    [{ HUAWEICLOUD_SECRET_KEY: SK }, 'HUAWEICLOUD_ACCESS_KEY'],
    [{ HUAWEICLOUD_SECURITY_TOKEN: STS }, 'HUAWEICLOUD_SECURITY_TOKEN'],
    [{ HUAWEICLOUD_ACCESS_KEY: 'HPUA KEY1', HUAWEICLOUD_SECRET_KEY: SK }, 'HUAWEICLOUD_ACCESS_KEY'],
  ])('fails with %j naming %s, never quoting a key', (env, variable) => {
    expect(configError(env).variable).toBe(variable);
  });

  it('names the access key variables among the sources when none is set', () => {
    expect(configError({}).message).toContain('HUAWEICLOUD_ACCESS_KEY and HUAWEICLOUD_SECRET_KEY');
  });
});
