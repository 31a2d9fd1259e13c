import { createHash } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { LedgerTable, StoredResponse } from '../../domain/ledger/table.js';
import { logger } from '../../platform/logger.js';
import type { HttpMiddleware, WebhookEvent } from './event.js';
import { ProblemError } from './problems.js';

/** 1-255 printable ASCII characters (design: "Receipts (HTTP)"). */
const KEY = /^[\x20-\x7e]{1,255}$/;

/** How long a first request holds its key before another may take it over (its Lambda's timeout is 20 s). */
const LOCK_MS = 25_000;

/** A repeated request answered with what its first answered; the error handler sends it as it is. */
export class ReplayedAnswer extends Error {
  override name = 'ReplayedAnswer';
  constructor(readonly response: APIGatewayProxyStructuredResultV2) {
    super('answered with the first answer of this Idempotency-Key');
  }
}

/** A retryable failure is not remembered: the same key tries again. */
const remembered = (statusCode: number) => statusCode !== 429 && statusCode < 500;

/**
 * `Idempotency-Key` on the stop route: the same key with the same request (method, path, body) from
 * the same caller within 24 h answers what the first answered, with `Idempotent-Replayed: true`, and
 * makes no LakeFormation call; with another request: 422 `IDEMPOTENCY_KEY_REUSED`; while the first
 * is under way: 409 `IDEMPOTENCY_KEY_IN_USE` with `Retry-After`. Keys are scoped to the credential
 * that authenticated. Register after caller authentication and request validation.
 */
export function idempotencyKeys({
  ledger,
  now = Date.now,
}: {
  ledger: () => LedgerTable;
  now?: () => number;
}): HttpMiddleware {
  return {
    before: async ({ event }) => {
      const key = event.headers?.['idempotency-key'];
      if (key === undefined) return;
      if (!KEY.test(key)) {
        throw new ProblemError(
          'INVALID_MESSAGE',
          'Idempotency-Key must be 1-255 printable ASCII characters',
          {
            members: { field: 'Idempotency-Key' },
          },
        );
      }
      const claim = { scope: event.caller?.fingerprint ?? 'anonymous', key, requestHash: requestHash(event) };
      const attempt = await ledger().claimKey(claim, { now: now(), lockMs: LOCK_MS });
      switch (attempt.kind) {
        case 'fresh':
          event.idempotency = claim;
          return;
        case 'mismatch':
          throw new ProblemError(
            'IDEMPOTENCY_KEY_REUSED',
            'this Idempotency-Key was used within 24 h for another request (another path or body)',
          );
        case 'in-progress':
          throw new ProblemError(
            'IDEMPOTENCY_KEY_IN_USE',
            'the first request with this Idempotency-Key is still under way',
            {
              headers: { 'Retry-After': String(attempt.retryAfterSeconds) },
            },
          );
        case 'replay':
          logger.info('request replayed', { statusCode: attempt.response.statusCode });
          throw new ReplayedAnswer({
            statusCode: attempt.response.statusCode,
            headers: { ...attempt.response.headers, 'Idempotent-Replayed': 'true' },
            body: attempt.response.body,
          });
      }
    },
    after: async ({ event, response }) => {
      const claim = event.idempotency;
      if (!claim) return;
      const answer = response as APIGatewayProxyStructuredResultV2;
      const statusCode = answer.statusCode ?? 200;
      if (!remembered(statusCode)) return ledger().releaseKey(claim);
      const stored: StoredResponse = {
        statusCode,
        headers: Object.fromEntries(Object.entries(answer.headers ?? {}).map(([k, v]) => [k, String(v)])),
        body: answer.body ?? '',
      };
      // The answer stands whether or not it could be remembered: a 202 turned into a 5xx here would
      // say no stop was made. Unremembered, the key stays in progress until its lock ends; a retry
      // after that is made again and joins the stop of the run (one stop per job run).
      await ledger()
        .completeKey(claim, stored)
        .catch((error: unknown) =>
          logger.warn('could not remember the answer of an Idempotency-Key', { statusCode, error }),
        );
    },
    onError: async ({ event }) => {
      const claim = event.idempotency;
      if (!claim) return;
      // a failure is not remembered (and a key the ledger cannot release is freed by its lock's end)
      await ledger()
        .releaseKey(claim)
        .catch((error: unknown) => logger.warn('could not release an idempotency key', { error }));
    },
  };
}

/** What a signed request's one use is recorded under: the signature, the method and the path. */
function signatureUse(event: WebhookEvent) {
  if (event.caller?.method !== 'hmac') return undefined;
  return {
    signature: (event.headers?.['x-signature'] ?? '').toLowerCase(),
    method: event.requestContext?.http?.method ?? 'POST',
    path: event.rawPath ?? '',
  };
}

/** SHA-256 of what makes two requests the same request: method, path and the body as received. */
function requestHash(event: WebhookEvent): string {
  return createHash('sha256')
    .update(`${event.requestContext?.http?.method ?? 'POST'} ${event.rawPath ?? ''}\n`)
    .update(event.rawBody)
    .digest('hex');
}

/**
 * A caller signature is good for one request: the same `X-Signature` again on the same method and
 * path within its window is refused (401, "signature already used"). A request that repeats an
 * `Idempotency-Key` was answered before this runs. A request that ends in a retryable failure (429,
 * 5xx) frees its signature: sending the very same request again is a retry, not a replay. Register
 * after {@link idempotencyKeys}.
 */
export function singleUseSignatures({
  ledger,
  now = Date.now,
}: {
  ledger: () => LedgerTable;
  now?: () => number;
}): HttpMiddleware {
  return {
    before: async ({ event }) => {
      const use = signatureUse(event);
      if (!use) return;
      const timestamp = Number(event.headers?.['x-timestamp'] ?? 0);
      const first = await ledger().useSignature({ ...use, until: (timestamp + 300) * 1000, now: now() });
      if (!first) {
        throw new ProblemError('UNAUTHENTICATED', 'signature already used: sign each request anew', {
          headers: { 'WWW-Authenticate': 'Bearer, HMAC-SHA256 headers="X-Timestamp X-Signature"' },
        });
      }
      event.signatureUsed = true;
    },
    after: async ({ event, response }) => {
      const status = (response as APIGatewayProxyStructuredResultV2).statusCode ?? 200;
      if (event.signatureUsed && !remembered(status)) await forget(event);
    },
    onError: async ({ event, error }) => {
      if (!event.signatureUsed || error instanceof ProblemError) return;
      await forget(event);
    },
  };

  async function forget(event: WebhookEvent) {
    const use = signatureUse(event);
    if (!use) return;
    await ledger()
      .forgetSignature(use)
      .catch((error: unknown) => logger.warn('could not free a used signature', { error }));
  }
}
