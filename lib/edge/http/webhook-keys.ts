import { isJsonObject } from '../../platform/objects.js';
import { describeSecretError, getSecretsProvider, SECRET_CACHE_SECONDS } from '../../upstream/aws/secrets.js';

/** Caller keys from `WEBHOOK_SECRET_ID`: lists, so a key can be rotated without downtime. */
export interface WebhookKeys {
  hmacKeys: string[];
  bearerTokens: string[];
  /** The keys of snooze links, newest first: the first signs, any verifies (none: warnings carry no link). */
  linkKeys?: string[];
}

/** The caller keys could not be loaded; no caller can be authenticated. A fault of ours (500). */
export class WebhookKeysError extends Error {
  override name = 'WebhookKeysError';
}

function stringList(secretId: string, data: Record<string, unknown>, field: string): string[] {
  const value = data[field] ?? [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
    throw new WebhookKeysError(`secret ${secretId}: ${field} must be a list of non-empty strings`);
  }
  return value as string[];
}

/** Validates the secret's JSON without quoting any key. */
export function parseWebhookKeys(secretId: string, data: unknown): WebhookKeys {
  if (!isJsonObject(data)) {
    throw new WebhookKeysError(
      `secret ${secretId} must hold {"hmacKeys": [...], "bearerTokens": [...], "linkKeys"?: [...]}`,
    );
  }
  const record = data;
  const keys: WebhookKeys = {
    hmacKeys: stringList(secretId, record, 'hmacKeys'),
    bearerTokens: stringList(secretId, record, 'bearerTokens'),
    linkKeys: stringList(secretId, record, 'linkKeys'),
  };
  // a short link key would let a link be forged by trying keys
  if (keys.linkKeys?.some((key) => key.length < 32)) {
    throw new WebhookKeysError(`secret ${secretId}: every linkKeys entry must be at least 32 characters`);
  }
  if (keys.hmacKeys.length === 0 && keys.bearerTokens.length === 0) {
    throw new WebhookKeysError(`secret ${secretId} holds no hmacKeys and no bearerTokens`);
  }
  return keys;
}

/**
 * Reads the caller keys through the shared Secrets Manager provider, cached for `cacheSeconds`.
 * Single flight: however many requests of a cold container wait for the keys, one read is made
 * (a burst of requests must not become a burst of Secrets Manager calls, each one a chance to time
 * out); a read that fails is not kept, the next request reads again.
 */
export function webhookKeysLoader(
  secretId: string,
  cacheSeconds = SECRET_CACHE_SECONDS,
): () => Promise<WebhookKeys> {
  let pending: Promise<WebhookKeys> | undefined;
  const read = async () => {
    let data: unknown;
    try {
      data = await getSecretsProvider().get(secretId, { maxAge: cacheSeconds, transform: 'json' });
    } catch (error) {
      throw new WebhookKeysError(`secret ${secretId} could not be read: ${describeSecretError(error)}`);
    }
    return parseWebhookKeys(secretId, data);
  };
  return () => {
    if (!pending) {
      const current = read().finally(() => {
        if (pending === current) pending = undefined;
      });
      pending = current;
    }
    return pending;
  };
}
