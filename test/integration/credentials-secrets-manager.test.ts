import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import { credentialsLoader } from '../../lib/upstream/huawei/credentials.js';
import { CredentialsConfigError } from '../../lib/upstream/huawei/errors.js';
import { createTokenProvider } from '../../lib/upstream/huawei/token-provider.js';
import { createLakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import { uniqueName, useMoto } from '../support/aws.js';
import { INSTANCE, PROJECT, testEmulator, USER } from '../support/emulator.js';

let emulator: LakeFormationEmulator;
let secrets: SecretsManagerClient;

beforeAll(async () => {
  useMoto();
  secrets = new SecretsManagerClient({});
  emulator = await testEmulator();
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(() => {
  resetContainer();
});

async function createSecret(value: unknown): Promise<string> {
  const name = uniqueName('lf-creds');
  await secrets.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }));
  return name;
}

describe('credentials from a real Secrets Manager secret (moto)', () => {
  it('signs in to IAM with the password secret and stops a job', async () => {
    const secretId = await createSecret({
      userName: USER.name,
      password: USER.password,
      domainName: USER.domain,
    });
    const job = emulator.store.add(INSTANCE, {
      name: 'secret_job',
      type: 'METADATA_MIGRATION',
      status: 'RUNNING',
    });
    const tokens = createTokenProvider({
      iamEndpoint: emulator.url,
      projectId: PROJECT,
      credentials: credentialsLoader({ kind: 'secret', secretId }),
    });
    const client = createLakeFormationClient({ endpoint: emulator.url, projectId: PROJECT, tokens });

    await client.stopJob({ instanceId: INSTANCE, jobId: job.id });

    expect(job.stopsAccepted).toBe(1);
  });

  it('picks up a rotated value after invalidate', async () => {
    const secretId = await createSecret({ token: 'first' });
    const loader = credentialsLoader({ kind: 'secret', secretId });
    expect(await loader.load()).toEqual({ kind: 'token', token: 'first' });

    await secrets.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify({ token: 'second' }) }),
    );
    const cached = await loader.load();
    loader.invalidate();
    const fresh = await loader.load();

    expect(cached).toEqual({ kind: 'token', token: 'first' });
    expect(fresh).toEqual({ kind: 'token', token: 'second' });
  });

  it('reports a secret that does not exist as a configuration error naming it', async () => {
    const loader = credentialsLoader({ kind: 'secret', secretId: 'no-such-secret' });
    const error = await loader.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsConfigError);
    expect((error as Error).message).toContain('no-such-secret');
    // the SDK's own error name, not the parameter library's wrapper: tells "missing" from "denied"
    expect((error as Error).message).toContain('ResourceNotFoundException');
  });
});
