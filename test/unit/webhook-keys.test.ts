import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import { parseWebhookKeys, WebhookKeysError, webhookKeysLoader } from '../../lib/edge/http/webhook-keys.js';

const secretsManager = mockClient(SecretsManagerClient);
const SECRET = 'lf-job-stopper/test/webhook-keys';

beforeEach(() => {
  secretsManager.reset();
  resetContainer();
});

function rejection(data: unknown): Error {
  try {
    parseWebhookKeys(SECRET, data);
  } catch (error) {
    return error as Error;
  }
  throw new Error('parseWebhookKeys accepted the value');
}

describe('Function: parseWebhookKeys()', () => {
  it('takes the lists, and a missing list as empty', () => {
    expect(parseWebhookKeys(SECRET, { hmacKeys: ['h1', 'h2'], bearerTokens: ['b1'] })).toEqual({
      hmacKeys: ['h1', 'h2'],
      bearerTokens: ['b1'],
      linkKeys: [],
    });
    expect(parseWebhookKeys(SECRET, { bearerTokens: ['b1'] })).toEqual({
      hmacKeys: [],
      bearerTokens: ['b1'],
      linkKeys: [],
    });
    const linkKeys = ['k'.repeat(32), 'o'.repeat(40)];
    expect(parseWebhookKeys(SECRET, { bearerTokens: ['b1'], linkKeys })).toMatchObject({ linkKeys });
  });

  it('refuses a link key under 32 characters without quoting it', () => {
    const refuse = () =>
      parseWebhookKeys(SECRET, { bearerTokens: ['b1'], linkKeys: ['k'.repeat(32), 'short-key'] });
    expect(refuse).toThrow(WebhookKeysError);
    expect(refuse).toThrow('every linkKeys entry must be at least 32 characters');
    expect(refuse).not.toThrow(/short-key/);
  });

  it.each([
    ['no keys at all', {}, 'holds no hmacKeys and no bearerTokens'],
    ['two empty lists', { hmacKeys: [], bearerTokens: [] }, 'holds no hmacKeys and no bearerTokens'],
    ['an empty key', { hmacKeys: ['key-one', ''] }, 'hmacKeys must be a list of non-empty strings'],
    ['a key that is not a string', { bearerTokens: ['key-one', 42] }, 'bearerTokens must be a list'],
    ['a single key instead of a list', { hmacKeys: 'key-one' }, 'hmacKeys must be a list'],
    ['an array', ['key-one'], 'must hold {"hmacKeys"'],
  ])('refuses %s, naming the secret and quoting no key', (_name, data, message) => {
    const error = rejection(data);
    expect(error).toBeInstanceOf(WebhookKeysError);
    expect(error.message).toContain(SECRET);
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('key-one');
  });
});

describe('Function: webhookKeysLoader()', () => {
  it('reads the keys once per cache period', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: SECRET })
      .resolves({ SecretString: JSON.stringify({ hmacKeys: ['h1'] }) });
    const keys = webhookKeysLoader(SECRET);
    expect(await keys()).toEqual({ hmacKeys: ['h1'], bearerTokens: [], linkKeys: [] });
    expect(await keys()).toEqual({ hmacKeys: ['h1'], bearerTokens: [], linkKeys: [] });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it.each(['hunter2-caller-key', '{"hmacKeys": [hunter2-caller-key]}'])(
    'names the secret but never quotes it when it is not JSON: %s',
    async (text) => {
      secretsManager.on(GetSecretValueCommand).resolves({ SecretString: text });
      const error = await webhookKeysLoader(SECRET)().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WebhookKeysError);
      expect((error as Error).message).toContain(SECRET);
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('hunter2');
    },
  );

  it('reports a secret it may not read with the reason, as a fault of this service', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    await expect(webhookKeysLoader(SECRET)()).rejects.toThrow(
      `secret ${SECRET} could not be read: AccessDeniedException: not authorized`,
    );
  });
});
