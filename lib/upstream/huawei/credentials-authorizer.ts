import { logger } from '../../platform/logger.js';
import type { AkSkCredentials, CredentialsLoader } from './credentials.js';
import { AccessKeyCredentialsError, ClockSkewError, CredentialsRejectedError } from './errors.js';
import {
  type Authorization,
  type AuthorizationHandle,
  type Refusal,
  type RefusalVerdict,
  type RequestAuthorizer,
  tokenAuthorizer,
} from './request-auth.js';
import { signRequest } from './signer.js';
import type { TokenSource } from './token-provider.js';

export interface CredentialsAuthorizerOptions {
  /** The credentials secret (or environment), read through its single-flight loader. */
  credentials: CredentialsLoader;
  /** Tokens for password and pre-issued-token credentials, read through the same loader. */
  tokens: TokenSource;
  /** Sent, and signed, as `X-Project-Id`. */
  projectId: string;
  /** This host's clock, epoch ms: the signing time. @default Date.now */
  now?: () => number;
}

/** How far the gateway lets `X-Sdk-Date` be from its own clock (Huawei's API signing guide). */
export const MAX_SIGNING_SKEW_MS = 15 * 60_000;

/** The gateway's words for a signature refused for its date (the emulator's, and APIG's "signature expired"). */
const SAYS_DATE_IS_OFF = /signature expired|minutes allowed/i;

/**
 * How far the gateway's clock (the refusal's `Date`) is from this host's, in ms; `undefined`
 * without a readable `Date`. `Date` has whole seconds: a second either way is not a skew.
 */
export function clockSkewMs(refusal: Pick<Refusal, 'date' | 'receivedAt'>): number | undefined {
  if (refusal.date === null) return undefined;
  const gateway = Date.parse(refusal.date);
  return Number.isNaN(gateway) ? undefined : gateway - refusal.receivedAt;
}

/**
 * Whether a refusal of a signed request is about this host's clock, and by how many whole minutes
 * when the gateway's `Date` tells: the refusal says the date is off, or its `Date` is more than
 * {@link MAX_SIGNING_SKEW_MS} from this host's clock. `false` otherwise.
 */
export function clockSkewOf(refusal: Refusal): { minutes: number | undefined } | false {
  const skew = clockSkewMs(refusal);
  const beyond = skew !== undefined && Math.abs(skew) > MAX_SIGNING_SKEW_MS;
  if (!beyond && !SAYS_DATE_IS_OFF.test(refusal.errorMsg ?? '')) return false;
  return { minutes: beyond ? Math.round(Math.abs(skew) / 60_000) : undefined };
}

interface SignedHandle {
  credentials: AkSkCredentials;
}

interface TokenHandle {
  token: AuthorizationHandle;
}

/**
 * The container's request authorizer: signs every request with the access key when the credentials
 * are `{"accessKey","secretKey","securityToken"?}` (`SDK-HMAC-SHA256`: `X-Sdk-Date`, `Authorization`,
 * `X-Project-Id`, and `X-Security-Token` for temporary keys; no IAM request is made), and otherwise
 * authorizes with IAM tokens from `tokens`. Which one is decided by the credentials' fields, when
 * they are read.
 *
 * An access key is kept once read. A refused signature (401, or an invalid-token 400) drops it and
 * reads the credentials again (a rotated key), and the request is repeated once; a second refusal
 * is a {@link CredentialsRejectedError}. A refusal for the date (this host's clock more than 15
 * minutes off the gateway's) is a {@link ClockSkewError} at once, logged once per container: no key
 * can help with it.
 *
 * @example
 * const credentials = credentialsLoader(config.credentials);
 * const tokens = createTokenProvider({ iamEndpoint, projectId, credentials });
 * const authorizer = createCredentialsAuthorizer({ credentials, tokens, projectId });
 * const client = createLakeFormationClient({ endpoint, projectId, authorizer });
 */
export function createCredentialsAuthorizer(options: CredentialsAuthorizerOptions): RequestAuthorizer {
  const byToken = tokenAuthorizer(options.tokens);
  const now = options.now ?? Date.now;
  /**
   * What the credentials were when last read. Token credentials are then the token source's to read
   * (when it needs a token, not on every request); an access key is held here.
   */
  let mode: 'unknown' | 'token' | 'aksk' = 'unknown';
  let held: AkSkCredentials | undefined;
  let skewLogged = false;

  /** The access key, read when none is held; `undefined` when the credentials are of the token kinds. */
  async function accessKey(): Promise<AkSkCredentials | undefined> {
    if (held) return held;
    const credentials = await options.credentials.load();
    if (credentials.kind !== 'aksk') {
      mode = 'token';
      return undefined;
    }
    mode = 'aksk';
    held = credentials;
    return credentials;
  }

  function sign(
    credentials: AkSkCredentials,
    request: Parameters<RequestAuthorizer['authorize']>[0],
  ): Authorization {
    const { accessKey, secretKey, securityToken } = credentials;
    const headers = signRequest({
      method: request.method,
      url: request.url,
      headers: request.headers,
      ...(request.body !== undefined && { body: request.body }),
      accessKey,
      secretKey,
      ...(securityToken !== undefined && { securityToken }),
      projectId: options.projectId,
      now: new Date(now()),
    });
    const signature = headers.Authorization.slice(headers.Authorization.lastIndexOf('Signature=') + 10);
    const secrets = [secretKey, signature, ...(securityToken !== undefined ? [securityToken] : [])];
    const handle: SignedHandle = { credentials };
    return { headers: { ...headers }, secrets, handle };
  }

  async function viaToken(
    request: Parameters<RequestAuthorizer['authorize']>[0],
    deadline: number,
  ): Promise<Authorization> {
    const authorization = await byToken.authorize(request, deadline);
    const handle: TokenHandle = { token: authorization.handle };
    return { ...authorization, handle };
  }

  function refusedSignature(handle: SignedHandle, refusal: Refusal): RefusalVerdict {
    const skew = clockSkewOf(refusal);
    if (skew) {
      const error = new ClockSkewError(skew.minutes, refusal.status);
      if (!skewLogged) {
        skewLogged = true;
        logger.warn(error.message, { clockSkewMinutes: skew.minutes ?? null });
      }
      return { retry: false, error };
    }
    if (refusal.repeated) {
      // the gateway's reason (an unknown key, a wrong signature) is what an operator needs; it is
      // upstream text already cleaned of the request's secrets and of any signature input
      const said = [refusal.errorCode, refusal.errorMsg].filter(Boolean).join(': ');
      return {
        retry: false,
        error: new CredentialsRejectedError(
          `LakeFormation refused the AK/SK signature, also after the credentials were read again (HTTP ${refusal.status}${said ? ` ${said}` : ''})`,
          refusal.status,
        ),
      };
    }
    // Requests refused together share one new read: only the first drops the key they were signed with.
    if (held === handle.credentials) {
      held = undefined;
      mode = 'unknown';
      options.credentials.invalidate();
    }
    return { retry: true };
  }

  return {
    async authorize(request, deadline) {
      if (mode !== 'token') {
        const key = await accessKey();
        if (key) return sign(key, request);
      }
      try {
        return await viaToken(request, deadline);
      } catch (error) {
        // the credentials became an access key since they were last read (a rotation)
        if (!(error instanceof AccessKeyCredentialsError)) throw error;
        mode = 'unknown';
        const key = await accessKey();
        if (key) return sign(key, request);
        return viaToken(request, deadline);
      }
    },

    refused(handle, refusal) {
      if ('credentials' in handle) return refusedSignature(handle as SignedHandle, refusal);
      return byToken.refused((handle as TokenHandle).token, refusal);
    },

    prepare() {
      if (mode === 'token') return byToken.prepare?.();
      if (held) return;
      // the loader keeps this read for the authorization that follows; its error, if any, is that
      // authorization's to report
      options.credentials.load().catch(() => {});
    },
  };
}
