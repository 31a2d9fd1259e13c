import { containerCell } from '../../platform/container-state.js';
import { logger } from '../../platform/logger.js';
import { parseTimestamp } from '../../platform/time.js';
import { type FetchLike, fetchText, type TextResponse, USER_AGENT } from '../transport/fetch-text.js';
import { nodeFetch } from '../transport/node-fetch.js';
import {
  DEFAULT_RETRY,
  type RetryOptions,
  realTiming,
  type Timing,
  withRetries,
} from '../transport/retry.js';
import type { CredentialsLoader } from './credentials.js';
import { AccessKeyCredentialsError, CredentialsRejectedError, IamUnavailableError } from './errors.js';

/** Supplies IAM tokens to the LakeFormation client; {@link createTokenProvider} makes one. */
export interface TokenSource {
  /** A valid token, or a failure no later than `deadline` (epoch ms) when one is given. */
  getToken(deadline?: number): Promise<string>;
  /** LakeFormation rejected `token` (401): forget it so the next `getToken` fetches a new one. */
  invalidate(token: string): void;
  /**
   * A token may soon be needed: start what can be done ahead of `getToken` without asking IAM for one
   * (reading the credentials). Never throws; a failure meets the `getToken` that follows.
   */
  prepare?(): void;
}

export interface TokenProviderOptions {
  /** IAM base URL, e.g. `https://iam.cn-north-4.myhuaweicloud.com`. */
  iamEndpoint: string;
  /** The token is scoped to this project. */
  projectId: string;
  credentials: CredentialsLoader;
  /** @default nodeFetch (node:http) */
  fetch?: FetchLike;
  /**
   * A token with less than this left is never handed out.
   * @default 300000 (5 minutes)
   */
  refreshMarginMs?: number;
  /**
   * Timeout of one IAM request.
   * @default 10000
   */
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  timing?: Partial<Timing>;
}

interface CachedToken {
  token: string;
  /** Epoch ms; `Infinity` for a pre-issued token, which has no known expiry. */
  expiresAt: number;
  preIssued: boolean;
}

/*
 * The container's tokens, shared by every provider: they survive warm invocations. Keyed by IAM
 * endpoint and project: a token is only good for the project it was scoped to.
 */
const cachedTokens = /* @__PURE__ */ containerCell(() => new Map<string, CachedToken>());
/** IAM requests under way: callers that need the same token meanwhile wait for it. */
const tokenRequests = /* @__PURE__ */ containerCell(() => new Map<string, Promise<CachedToken>>());
/** Pre-issued tokens LakeFormation rejected, until the secret yields a different one. */
const rejectedPreIssued = /* @__PURE__ */ containerCell(() => new Map<string, string>());

const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;
/** Shortest time worth starting an IAM request in. */
const MIN_ATTEMPT_MS = 50;

function untilDeadline<T>(promise: Promise<T>, deadline: number, timing: Timing): Promise<T> {
  if (!Number.isFinite(deadline)) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new IamUnavailableError('no IAM token before the deadline', undefined, { timedOut: true })),
      Math.max(0, deadline - timing.now()),
    );
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Clocks further apart than this are worth a warning: token lifetimes are then judged by IAM's. */
const CLOCK_SKEW_WARNING_MS = 60_000;

/**
 * When the token expires by *our* clock (epoch ms), from IAM's answer; `undefined` without a
 * readable `token.expires_at`. `expires_at` is a time on IAM's clock: read against a local clock
 * that runs ahead, a fresh token would look expired, and be asked for again on every call. So its
 * lifetime is measured on IAM's clock, from `token.issued_at` (or else the `Date` header), and
 * counted from when the answer arrived here. A skew worth noting is logged.
 */
function localExpiry(response: TextResponse, receivedAt: number): number | undefined {
  let token: { expires_at?: unknown; issued_at?: unknown } | undefined;
  try {
    token = (JSON.parse(response.text) as { token?: typeof token }).token;
  } catch {
    return undefined;
  }
  const expiresAt = parseTimestamp(token?.expires_at);
  if (expiresAt === undefined) return undefined;
  const date = response.headers.get('date');
  const iamNow = parseTimestamp(token?.issued_at) ?? (date === null ? undefined : Date.parse(date));
  if (iamNow === undefined || Number.isNaN(iamNow) || iamNow > expiresAt) return expiresAt;
  const skewMs = receivedAt - iamNow;
  if (Math.abs(skewMs) > CLOCK_SKEW_WARNING_MS) {
    logger.warn("this host's clock and IAM's differ: token lifetimes are judged by IAM's clock", {
      clockSkewSeconds: Math.round(skewMs / 1000),
    });
  }
  return expiresAt + skewMs;
}

/**
 * An IAM token source with the container's token cache, refresh ahead of expiry and single flight:
 * however many callers wait for a token, one IAM request is made.
 *
 * @example
 * const tokens = createTokenProvider({ iamEndpoint, projectId, credentials: credentialsLoader(config.credentials) });
 * const client = createLakeFormationClient({ endpoint, projectId, tokens });
 */
export function createTokenProvider(options: TokenProviderOptions): TokenSource {
  const iamEndpoint = options.iamEndpoint.replace(/\/+$/, '');
  const key = `${iamEndpoint}|${options.projectId}`;
  const fetchImpl: FetchLike = options.fetch ?? nodeFetch;
  const refreshMarginMs = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const timing: Timing = { ...realTiming, ...options.timing };

  async function requestToken(
    userName: string,
    password: string,
    domainName: string,
    deadline: number,
  ): Promise<CachedToken> {
    const body = JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: userName, password, domain: { name: domainName } } },
        },
        scope: { project: { id: options.projectId } },
      },
    });
    const response = await withRetries(
      async () => {
        const remaining = deadline - timing.now();
        if (remaining < MIN_ATTEMPT_MS) {
          throw new IamUnavailableError(
            'no time left before the deadline to ask IAM for a token',
            undefined,
            {
              timedOut: true,
            },
          );
        }
        const res = await fetchText(
          fetchImpl,
          `${iamEndpoint}/v3/auth/tokens?nocatalog=true`,
          {
            method: 'POST',
            headers: { 'Content-Type': 'application/json;charset=utf8', 'User-Agent': USER_AGENT },
            body,
          },
          Math.min(timeoutMs, remaining),
          {
            timeout: (ms) =>
              new IamUnavailableError(`IAM token request timed out after ${ms} ms`, undefined, {
                timedOut: true,
              }),
            network: (cause) =>
              new IamUnavailableError('IAM token request failed to connect', undefined, { cause }),
            tooLarge: (max) => new IamUnavailableError(`IAM answered with a body longer than ${max} bytes`),
          },
        );
        if (res.status >= 500 || res.status === 408 || res.status === 429) {
          throw new IamUnavailableError(`IAM token request failed with HTTP ${res.status}`, res.status);
        }
        return res;
      },
      (error) => ({ retry: error instanceof IamUnavailableError }),
      { options: retry, timing, deadline },
    );
    if (response.status !== 201 && response.status !== 200) {
      // A refused password may be a rotated one: read the secret again next time.
      options.credentials.invalidate();
      throw new CredentialsRejectedError(
        `IAM refused the credentials with HTTP ${response.status}`,
        response.status,
      );
    }
    const token = response.headers.get('x-subject-token');
    const expiresAt = localExpiry(response, timing.now());
    if (!token || expiresAt === undefined) {
      throw new IamUnavailableError(
        'IAM answered without X-Subject-Token or token.expires_at',
        response.status,
      );
    }
    return { token, expiresAt, preIssued: false };
  }

  async function issue(deadline: number): Promise<CachedToken> {
    const credentials = await options.credentials.load();
    if (credentials.kind === 'aksk') throw new AccessKeyCredentialsError();
    if (credentials.kind === 'password') {
      return requestToken(credentials.userName, credentials.password, credentials.domainName, deadline);
    }
    const rejected = rejectedPreIssued();
    if (rejected.get(key) === credentials.token) {
      rejected.delete(key);
      throw new CredentialsRejectedError(
        'LakeFormation rejected the pre-issued token from the credentials secret, and a token cannot be renewed',
        401,
      );
    }
    return { token: credentials.token, expiresAt: Number.POSITIVE_INFINITY, preIssued: true };
  }

  const usable = (cached: CachedToken | undefined): cached is CachedToken =>
    cached !== undefined && cached.expiresAt - timing.now() >= refreshMarginMs;

  return {
    async getToken(deadline = Number.POSITIVE_INFINITY) {
      const tokens = cachedTokens();
      const cached = tokens.get(key);
      if (usable(cached)) return cached.token;
      const requests = tokenRequests();
      let pending = requests.get(key);
      if (!pending) {
        pending = issue(deadline)
          .then((fresh) => {
            tokens.set(key, fresh);
            return fresh;
          })
          .finally(() => requests.delete(key));
        requests.set(key, pending);
      }
      // A caller joining a request started by another waits no longer than its own deadline.
      return (await untilDeadline(pending, deadline, timing)).token;
    },

    prepare() {
      if (usable(cachedTokens().get(key)) || tokenRequests().has(key)) return;
      // the credentials loader keeps this read for the getToken that follows; its error, if any, is
      // that getToken's to report
      options.credentials.load().catch(() => {});
    },

    invalidate(token) {
      const tokens = cachedTokens();
      const cached = tokens.get(key);
      if (cached?.token !== token) return; // someone already replaced it
      tokens.delete(key);
      if (cached.preIssued) {
        rejectedPreIssued().set(key, token);
        options.credentials.invalidate();
      }
    },
  };
}
