import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import { credentialsLoader, parseCredentialsSecret } from '../../lib/upstream/huawei/credentials.js';
import { CredentialsConfigError } from '../../lib/upstream/huawei/errors.js';

const secretsManager = mockClient(SecretsManagerClient);
const SECRET = 'lf-job-stopper/test/huaweicloud-credentials';

beforeEach(() => {
  secretsManager.reset();
  resetContainer();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.UTC(2026, 10, 28, 12, 0, 0));
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Function: credentialsLoader()', () => {
  it('reads the secret once per TTL however often credentials are needed', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({
      SecretString: JSON.stringify({ userName: 'stopper', password: 'pw', domainName: 'acme' }),
    });
    const loader = credentialsLoader({ kind: 'secret', secretId: SECRET }, { cacheSeconds: 300 });

    // Act
    for (let i = 0; i < 5; i++) await loader.load();
    vi.setSystemTime(Date.now() + 299_000);
    await loader.load();
    const callsWithinTtl = secretsManager.commandCalls(GetSecretValueCommand).length;
    vi.setSystemTime(Date.now() + 2_000);
    const credentials = await loader.load();

    // Assess
    expect(callsWithinTtl).toBe(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(credentials).toEqual({
      kind: 'password',
      userName: 'stopper',
      password: 'pw',
      domainName: 'acme',
    });
  });

  it('reads the secret again after invalidate, within the TTL', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ token: 'pre-issued' }) });
    const loader = credentialsLoader({ kind: 'secret', secretId: SECRET });
    await loader.load();

    loader.invalidate();
    await loader.load();
    await loader.load();

    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('makes one read for loads made while a read is under way', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    secretsManager.on(GetSecretValueCommand).callsFake(async () => {
      await gate;
      return { SecretString: JSON.stringify({ userName: 'stopper', password: 'pw', domainName: 'acme' }) };
    });
    const loader = credentialsLoader({ kind: 'secret', secretId: SECRET });

    const loads = Array.from({ length: 5 }, () => loader.load());
    release();
    const credentials = await Promise.all(loads);

    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(new Set(credentials.map((c) => (c.kind === 'password' ? c.userName : c.token)))).toEqual(
      new Set(['stopper']),
    );
  });

  it('reads again, past the cache, when invalidated while a read is under way', async () => {
    const values = ['old-password', 'new-password'];
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    secretsManager.on(GetSecretValueCommand).callsFake(async () => {
      const password = values.shift() ?? 'unexpected';
      if (password === 'old-password') await gate;
      return { SecretString: JSON.stringify({ userName: 'stopper', password, domainName: 'acme' }) };
    });
    const loader = credentialsLoader({ kind: 'secret', secretId: SECRET });

    const stale = loader.load();
    loader.invalidate(); // e.g. IAM refused the password the read under way will return
    const fresh = loader.load();
    release();

    expect(await stale).toMatchObject({ password: 'old-password' });
    expect(await fresh).toMatchObject({ password: 'new-password' });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('keeps the next read past the cache when a read after invalidate fails', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ token: 'rejected-token' }) })
      .rejectsOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }))
      .resolves({ SecretString: JSON.stringify({ token: 'rotated-token' }) });
    const loader = credentialsLoader({ kind: 'secret', secretId: SECRET });
    await loader.load();

    loader.invalidate();
    await expect(loader.load()).rejects.toBeInstanceOf(CredentialsConfigError);

    expect(await loader.load()).toEqual({ kind: 'token', token: 'rotated-token' });
  });

  it('returns a pre-issued token secret as a token credential', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ token: 'pre-issued' }) });
    const loader = credentialsLoader({ kind: 'secret', secretId: SECRET });
    expect(await loader.load()).toEqual({ kind: 'token', token: 'pre-issued' });
  });

  // JSON.parse quotes the text it fails on: a short secret whole, a long one around the fault.
  it.each(['password=hunter2-very-secret', 'hunter2', '{"userName": "u", "password": hunter2}'])(
    'names the secret but never quotes it when the secret is not JSON: %s',
    async (text) => {
      secretsManager.on(GetSecretValueCommand).resolves({ SecretString: text });
      const loader = credentialsLoader({ kind: 'secret', secretId: SECRET });
      const error = await loader.load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialsConfigError);
      expect((error as Error).message).toContain(SECRET);
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('hunter2');
    },
  );

  it('reports a missing secret as a configuration error', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' }));
    const loader = credentialsLoader({ kind: 'secret', secretId: SECRET });
    await expect(loader.load()).rejects.toThrow(
      `secret ${SECRET} could not be read: ResourceNotFoundException: not found`,
    );
  });

  it('uses the local-development trio without touching Secrets Manager', async () => {
    const loader = credentialsLoader({ kind: 'env', userName: 'u', password: 'p', domainName: 'd' });
    expect(await loader.load()).toEqual({ kind: 'password', userName: 'u', password: 'p', domainName: 'd' });
    expect(secretsManager.calls()).toHaveLength(0);
  });
});

describe('Function: parseCredentialsSecret()', () => {
  it.each([
    [[], 'must hold a JSON object'],
    ['text', 'must hold a JSON object'],
    [{ userName: 'u', password: 'p' }, 'missing domainName'],
    [{ userName: '', password: 'p', domainName: 'd' }, 'missing userName'],
    [{ token: '' }, 'missing userName, password, domainName'],
  ])('rejects %j: %s', (data, message) => {
    expect(() => parseCredentialsSecret(SECRET, data)).toThrow(message);
  });

  it('never quotes a value from the secret in its error', () => {
    const error = (() => {
      try {
        parseCredentialsSecret(SECRET, { userName: 'admin', password: 'hunter2' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).not.toContain('hunter2');
    expect(error?.message).not.toContain('admin');
  });
});
