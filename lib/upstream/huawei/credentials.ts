import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { isJsonObject } from '../../platform/objects.js';
import { describeSecretError, getSecretsProvider, SECRET_CACHE_SECONDS } from '../aws/secrets.js';
import { CredentialsConfigError } from './errors.js';

/**
 * Where the Huawei credentials come from: a Secrets Manager secret, or (local development) the
 * environment. A further kind (an AK/SK pair, for signed requests) is one more member here and one
 * more case in {@link credentialsLoader}.
 */
export type CredentialSource =
  | { kind: 'secret'; secretId: string }
  | { kind: 'env'; userName: string; password: string; domainName: string };

/** IAM password credentials, or a token issued elsewhere and used as-is. */
export type Credentials =
  | { kind: 'password'; userName: string; password: string; domainName: string }
  | { kind: 'token'; token: string };

export interface CredentialsLoader {
  /** The credentials; calls made while a read is under way share that read. */
  load(): Promise<Credentials>;
  /** Forget any cached copy: the next `load` reads the source again (e.g. after a rotation). */
  invalidate(): void;
}

function nonEmpty(data: Record<string, unknown>, key: string): string | undefined {
  const value = data[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Validates the secret's JSON without ever quoting a value from it. */
export function parseCredentialsSecret(secretId: string, data: unknown): Credentials {
  if (!isJsonObject(data)) throw new CredentialsConfigError(`secret ${secretId} must hold a JSON object`);
  const record = data;
  const token = nonEmpty(record, 'token');
  if (token !== undefined) return { kind: 'token', token };
  const userName = nonEmpty(record, 'userName');
  const password = nonEmpty(record, 'password');
  const domainName = nonEmpty(record, 'domainName');
  if (userName === undefined || password === undefined || domainName === undefined) {
    const missing = [
      userName === undefined && 'userName',
      password === undefined && 'password',
      domainName === undefined && 'domainName',
    ].filter(Boolean);
    throw new CredentialsConfigError(
      `secret ${secretId} must hold {"userName","password","domainName"} or {"token"}; missing ${missing.join(', ')}`,
    );
  }
  return { kind: 'password', userName, password, domainName };
}

/**
 * Loads credentials from the configured source: the Secrets Manager secret (JSON, cached for
 * `cacheSeconds`) or the local-development environment trio.
 */
export function credentialsLoader(
  source: CredentialSource,
  {
    cacheSeconds = SECRET_CACHE_SECONDS,
    provider = getSecretsProvider,
  }: {
    cacheSeconds?: number;
    provider?: () => SecretsProvider;
  } = {},
): CredentialsLoader {
  if (source.kind === 'env') {
    const credentials: Credentials = {
      kind: 'password',
      userName: source.userName,
      password: source.password,
      domainName: source.domainName,
    };
    return { load: async () => credentials, invalidate: () => {} };
  }
  const { secretId } = source;
  let forceFetch = false;
  /** The read in progress: callers that need credentials meanwhile wait for it instead of starting another. */
  let pending: Promise<Credentials> | undefined;
  async function read(force: boolean): Promise<Credentials> {
    let data: unknown;
    try {
      data = await provider().get(secretId, { maxAge: cacheSeconds, transform: 'json', forceFetch: force });
    } catch (error) {
      // an invalidated copy is still in the provider's cache: the next read must not fall back on it
      if (force) forceFetch = true;
      throw new CredentialsConfigError(`secret ${secretId} could not be read: ${describeSecretError(error)}`);
    }
    if (data === undefined) throw new CredentialsConfigError(`secret ${secretId} has no value`);
    return parseCredentialsSecret(secretId, data);
  }
  return {
    load() {
      if (!pending) {
        const current = read(forceFetch).finally(() => {
          if (pending === current) pending = undefined;
        });
        forceFetch = false;
        pending = current;
      }
      return pending;
    },
    invalidate() {
      // a read already under way may return the copy being invalidated: the next load reads again
      forceFetch = true;
      pending = undefined;
    },
  };
}
