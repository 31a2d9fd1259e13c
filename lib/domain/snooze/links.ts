import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isValidId } from '../../upstream/lakeformation/ids.js';

/**
 * Snooze links (`{PUBLIC_BASE_URL}/snooze?t=<token>`): the token binds one job run, the minutes it
 * snoozes and an expiry, signed with the first of the webhook secret's `linkKeys` (HMAC-SHA256);
 * any key of the list verifies, so keys rotate without breaking links already sent.
 *
 * Token: `<payload>.<key id>.<signature>`, each part base64url; the payload is JSON
 * `{"v":1,"j":jobId,"i":instanceId,"r":runStartedAt,"m":minutes,"e":expiry}` (epoch ms and s).
 * The key id is a hash of the key (it says which key signed, never the key).
 */

export interface SnoozeLink {
  jobId: string;
  instanceId: string;
  /** The run (epoch ms). */
  runStartedAt: number;
  minutes: number;
  /** epoch ms: the link is refused from then on. */
  expiresAt: number;
}

export type LinkCheck =
  | { ok: true; link: SnoozeLink; linkId: string }
  | { ok: false; reason: 'malformed' | 'tampered' | 'unknown-key' }
  | { ok: false; reason: 'expired'; link: SnoozeLink };

/** A token longer than this is refused before any work. */
export const MAX_TOKEN_LENGTH = 1024;

const PART = /^[A-Za-z0-9_-]+$/;
const DOMAIN = 'lf-job-stopper snooze link v1';

const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64url');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Which key signed a link: a short hash of it. */
export const keyId = (key: string): string => sha256(`lf-job-stopper link key id\n${key}`).slice(0, 16);

const signature = (key: string, payload: string, kid: string) =>
  createHmac('sha256', key).update(`${DOMAIN}\n${payload}.${kid}`).digest();

/** Signs `link` with `key` (the first of `linkKeys`). */
export function signLink(link: SnoozeLink, key: string): string {
  const payload = b64(
    JSON.stringify({
      v: 1,
      j: link.jobId,
      i: link.instanceId,
      r: link.runStartedAt,
      m: link.minutes,
      e: Math.floor(link.expiresAt / 1000),
    }),
  );
  const kid = keyId(key);
  return `${payload}.${kid}.${b64(signature(key, payload, kid))}`;
}

function readPayload(payload: string): SnoozeLink | undefined {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const { v, j, i, r, m, e } = (data ?? {}) as Record<string, unknown>;
  const whole = (value: unknown): value is number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
  if (v !== 1 || !isValidId(j) || !isValidId(i) || !whole(r) || !whole(m) || !whole(e)) return undefined;
  return { jobId: j, instanceId: i, runStartedAt: r, minutes: m, expiresAt: e * 1000 };
}

/**
 * Checks a token against `keys`: `malformed` (not a token), `unknown-key` (signed by a key that is
 * not in the list, e.g. rotated out), `tampered` (the signature does not match), `expired`; or the
 * link, with `linkId`, the hash that marks it used.
 */
export function verifyLink(token: unknown, keys: readonly string[], now: number): LinkCheck {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => PART.test(part)))
    return { ok: false, reason: 'malformed' };
  const [payload, kid, mac] = parts as [string, string, string];
  const key = keys.find((candidate) => keyId(candidate) === kid);
  if (key === undefined) return { ok: false, reason: 'unknown-key' };
  const expected = signature(key, payload, kid);
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'tampered' };
  }
  const link = readPayload(payload);
  // a payload that was signed but cannot be read was not made by this service
  if (!link) return { ok: false, reason: 'tampered' };
  if (link.expiresAt <= now) return { ok: false, reason: 'expired', link };
  return { ok: true, link, linkId: sha256(payload) };
}

/** The link a `Job Warned` event carries. */
export function snoozeUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/snooze?t=${token}`;
}
