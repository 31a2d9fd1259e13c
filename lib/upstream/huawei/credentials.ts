import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { isJsonObject } from '../../platform/objects.js';
import { describeSecretError, getSecretsProvider, SECRET_CACHE_SECONDS } from '../aws/secrets.js';
import { CredentialsConfigError } from './errors.js';

/**
 * Where the Huawei credentials come from: a Secrets Manager secret, or (local development) the
 * environment: the IAM password trio, or an access key.
 */
export type CredentialSource =
  | { kind: 'secret'; secretId: string }
  | { kind: 'env'; userName: string; password: string; domainName: string }
  | { kind: 'env-aksk'; accessKey: string; secretKey: string; securityToken?: string };

/** An access key (AK/SK) of an IAM user; `securityToken` only for temporary credentials. */
export interface AkSkCredentials {
  kind: 'aksk';
  accessKey: string;
  secretKey: string;
  securityToken?: string;
  /**
   * Never set: an access key is no token. Declared so that reading `token` off a credential that is
   * not a password gives `undefined` here, as it gives the pre-issued token there.
   */
  token?: never;
}

/**
 * An access key, whose signature authenticates each request (no IAM call); IAM password
 * credentials; or a token issued elsewhere and used as-is.
 */
export type Credentials =
  | AkSkCredentials
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

/**
 * What the API gateway takes for an access key in `Authorization: … Access=<AK>, …`: printable
 * ASCII without spaces or commas (Huawei's are 20 upper-case letters and digits).
 */
export const isAccessKey = (text: string): boolean => /^[\x21-\x2b\x2d-\x7e]+$/.test(text);

/**
 * The AK/SK form, once the secret has an `accessKey` or a `secretKey`: both are then required, and
 * a `securityToken` is optional. Fields are named, values never quoted.
 */
function parseAkSk(secretId: string, record: Record<string, unknown>): AkSkCredentials {
  const refuse = (problem: string) =>
    new CredentialsConfigError(
      `secret ${secretId} must hold {"accessKey","secretKey","securityToken"?} for AK/SK signing; ${problem}`,
    );
  const accessKey = nonEmpty(record, 'accessKey');
  const secretKey = nonEmpty(record, 'secretKey');
  if (accessKey === undefined || secretKey === undefined) {
    const missing = [accessKey === undefined && 'accessKey', secretKey === undefined && 'secretKey'];
    throw refuse(`missing ${missing.filter(Boolean).join(', ')}`);
  }
  if (!isAccessKey(accessKey)) throw refuse('accessKey must be printable ASCII without spaces or commas');
  const credentials: AkSkCredentials = { kind: 'aksk', accessKey, secretKey };
  if (record.securityToken !== undefined) {
    const securityToken = nonEmpty(record, 'securityToken');
    if (securityToken === undefined) throw refuse('securityToken, when present, must be a non-empty string');
    credentials.securityToken = securityToken;
  }
  return credentials;
}

/**
 * Validates the secret's JSON without ever quoting a value from it. Its fields decide its form: an
 * `accessKey` or a `secretKey` makes it an AK/SK pair, else a non-empty `token` a pre-issued token,
 * else it must be the IAM password trio.
 */
export function parseCredentialsSecret(secretId: string, data: unknown): Credentials {
  if (!isJsonObject(data)) throw new CredentialsConfigError(`secret ${secretId} must hold a JSON object`);
  const record = data;
  if (record.accessKey !== undefined || record.secretKey !== undefined) return parseAkSk(secretId, record);
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
      `secret ${secretId} must hold {"accessKey","secretKey"}, {"userName","password","domainName"} or {"token"}; missing ${missing.join(', ')}`,
    );
  }
  return { kind: 'password', userName, password, domainName };
}

/**
 * Loads credentials from the configured source: the Secrets Manager secret (JSON, cached for
 * `cacheSeconds`) or the local-development environment (the trio, or an access key).
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
  if (source.kind === 'env-aksk') {
    const credentials: AkSkCredentials = {
      kind: 'aksk',
      accessKey: source.accessKey,
      secretKey: source.secretKey,
      ...(source.securityToken !== undefined && { securityToken: source.securityToken }),
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
