import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultProvider } from '../../lib/upstream/aws/lambda-credentials.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the credential provider of the Lambda bundles', () => {
  it('returns the role credentials Lambda puts in the environment, session token included', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAROLEKEY');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'role-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'role-session');

    await expect(defaultProvider()()).resolves.toMatchObject({
      accessKeyId: 'ASIAROLEKEY',
      secretAccessKey: 'role-secret',
      sessionToken: 'role-session',
    });
  });

  it('reads the environment on each call, so a process that changes it is not served stale keys', async () => {
    const provider = defaultProvider();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'FIRST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'first-secret');
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'FIRST' });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'SECOND');
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'SECOND' });
  });

  it('fails with a reason naming the environment when the variables are missing', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', undefined);

    await expect(defaultProvider()()).rejects.toThrow(/environment variable credentials/i);
  });
});
