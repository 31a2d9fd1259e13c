import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';

describe('aws-sdk-client-mock-vitest matchers (test/support/aws-mock-matchers.ts)', () => {
  it('are registered for every test file', async () => {
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{}' });

    await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: 'one' }));

    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'one' });
    expect(secrets).not.toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'other' });
    secrets.restore();
  });
});
