import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { HttpMiddleware } from './event.js';
import { ProblemError } from './problems.js';
import type { WebhookKeys } from './webhook-keys.js';

/** How far `X-Timestamp` may be from our clock, either way. */
export const SIGNATURE_WINDOW_SECONDS = 300;

/** Who a caller is: which kind of key, which one of the list, and a fingerprint of it (never the key). */
export interface Caller {
  method: 'hmac' | 'bearer';
  /** Index of the key in `hmacKeys` / `bearerTokens`. */
  keyIndex: number;
  /** SHA-256 of the kind and the key, cut to 32 hex digits: scopes what a caller did without storing its key. */
  fingerprint: string;
}

export type CallerAuthResult = ({ ok: true } & Caller) | { ok: false; detail: string };

/** How a caller is named in the ledger's requests: kind and key index (`hmac:0`), never the key. */
export const callerName = (caller: Caller): string => `${caller.method}:${caller.keyIndex}`;

function identify(method: Caller['method'], keys: readonly string[], index: number): { ok: true } & Caller {
  const fingerprint = createHash('sha256')
    .update(`${method}:${keys[index] ?? ''}`)
    .digest('hex')
    .slice(0, 32);
  return { ok: true, method, keyIndex: index, fingerprint };
}

/** Compares in constant time, whatever the lengths: both sides are hashed to 32 bytes first. */
function safeEqual(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** `sha256=<hex HMAC-SHA256(key, "<timestamp>.<raw body>")>`: what a caller sends in `X-Signature`. */
export function signature(key: string, timestamp: string, rawBody: Buffer | string): string {
  const hmac = createHmac('sha256', key).update(`${timestamp}.`).update(rawBody);
  return `sha256=${hmac.digest('hex')}`;
}

/**
 * Authenticates a webhook caller by `Authorization: Bearer <token>` or by HMAC signature
 * (`X-Timestamp` + `X-Signature` over the raw body). Every configured key is tried, so keys can be
 * rotated; every comparison is constant-time. Headers must be lower-cased.
 */
export function authenticateCaller(
  headers: Record<string, string | undefined>,
  rawBody: Buffer,
  keys: WebhookKeys,
  nowSeconds: number,
): CallerAuthResult {
  const authorization = headers.authorization;
  const sent = headers['x-signature'];
  const timestamp = headers['x-timestamp'];

  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1] !== undefined) {
      const token = match[1];
      let found = -1;
      keys.bearerTokens.forEach((candidate, index) => {
        if (safeEqual(token, candidate) && found < 0) found = index;
      });
      if (found >= 0) return identify('bearer', keys.bearerTokens, found);
    }
    if (sent === undefined) return { ok: false, detail: 'the bearer token is not valid' };
  }

  if (sent === undefined && timestamp === undefined) {
    return { ok: false, detail: 'send Authorization: Bearer <token>, or X-Timestamp and X-Signature' };
  }
  if (sent === undefined || timestamp === undefined) {
    return { ok: false, detail: 'X-Timestamp and X-Signature must be sent together' };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, detail: 'X-Timestamp must be Unix time in seconds' };
  if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) {
    return {
      ok: false,
      detail: `X-Timestamp is more than ${SIGNATURE_WINDOW_SECONDS} s from the server's clock`,
    };
  }
  if (!/^sha256=[0-9a-fA-F]{64}$/.test(sent)) {
    return { ok: false, detail: 'X-Signature must be sha256=<64 hex digits>' };
  }
  let found = -1;
  keys.hmacKeys.forEach((key, index) => {
    if (safeEqual(sent.toLowerCase(), signature(key, timestamp, rawBody)) && found < 0) found = index;
  });
  return found >= 0
    ? identify('hmac', keys.hmacKeys, found)
    : { ok: false, detail: 'the signature does not match' };
}

/**
 * Caller authentication: bearer token or HMAC signature, keys from `keys()` (cached). A caller who
 * fails gets 401 and nothing further runs: no LakeFormation call, no IAM call.
 */
export function callerAuthentication({
  keys,
  now = Date.now,
}: {
  keys: () => Promise<WebhookKeys>;
  now?: () => number;
}): HttpMiddleware {
  return {
    before: async ({ event }) => {
      const result = authenticateCaller(
        event.headers ?? {},
        event.rawBody,
        await keys(),
        Math.floor(now() / 1000),
      );
      if (!result.ok) {
        throw new ProblemError('UNAUTHENTICATED', result.detail, {
          headers: { 'WWW-Authenticate': 'Bearer, HMAC-SHA256 headers="X-Timestamp X-Signature"' },
        });
      }
      const { ok: _ok, ...caller } = result;
      event.caller = caller;
    },
  };
}
