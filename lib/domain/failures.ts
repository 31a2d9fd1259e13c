import {
  CredentialsConfigError,
  CredentialsRejectedError,
  IamUnavailableError,
} from '../upstream/huawei/errors.js';
import {
  DeadlineExceededError,
  InstanceNotFoundError,
  isTokenRefusal,
  LakeFormationHttpError,
  LakeFormationNetworkError,
  LakeFormationResponseError,
  LakeFormationTimeoutError,
} from '../upstream/lakeformation/errors.js';
import { UpstreamPausedError } from '../upstream/transport/flow.js';

/** The ledger could not be read or written (DynamoDB failed or did not answer): retry later. */
export class LedgerUnavailableError extends Error {
  override name = 'LedgerUnavailableError';
  constructor(operation: string, cause: unknown) {
    super(`the stop ledger is unavailable (${operation}: ${(cause as Error)?.name ?? 'error'})`, { cause });
  }
}

/** A request is waiting for another's stop of the same job run, which has no outcome yet: retry shortly. */
export class StopInProgressError extends Error {
  override name = 'StopInProgressError';
  constructor(
    readonly stopId: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`another request is stopping this job run (stop ${stopId}); ask again in ${retryAfterSeconds} s`);
  }
}

/** What becomes of a queue message that ends with a failure (the `disposition` of its log line). */
export type QueueDisposition = 'acknowledged' | 'dead-lettered' | 'retry';

/**
 * A row of {@link FAILURES}: what the webhook answers (`httpStatus`, and the problem's `code`, see
 * docs/openapi.yaml) and what the queue function does with a message that ends so (`queue`; `null`
 * for failures only the webhook meets). A dead-lettered or retried message carries the kind itself
 * as its `errorCode`.
 */
function row<const S extends number, const P extends string, const Q extends QueueDisposition | null>(
  httpStatus: S,
  problem: P,
  queue: Q,
): { readonly httpStatus: S; readonly problem: P; readonly queue: Q } {
  return { httpStatus, problem, queue };
}

const DEAD_LETTERED = 'dead-lettered';
const RETRY = 'retry';
const ACKNOWLEDGED = 'acknowledged';
/** Only the webhook meets it. */
const WEBHOOK_ONLY = null;

/**
 * Every way a stop request can fail, and what each entry point makes of it: the one table. A new
 * failure is a new row; the webhook's problems (edge/http/problems.ts), the dead-letter codes and
 * the retries are read from here.
 */
export const FAILURES = {
  /** The body or message is not JSON. */
  INVALID_JSON: row(400, 'INVALID_REQUEST', DEAD_LETTERED),
  /** It is JSON but not a stop request: not an object, an unknown field, a field out of its rule. */
  INVALID_MESSAGE: row(400, 'INVALID_REQUEST', DEAD_LETTERED),
  /** A job or instance id that is not 1-64 letters, digits or dashes. */
  INVALID_ID: row(400, 'INVALID_REQUEST', DEAD_LETTERED),
  /** The webhook caller is not authenticated. */
  UNAUTHENTICATED: row(401, 'UNAUTHENTICATED', WEBHOOK_ONLY),
  /** The instance is not one this service may act on. */
  INSTANCE_NOT_ALLOWED: row(403, 'INSTANCE_NOT_ALLOWED', DEAD_LETTERED),
  /** The outcome `NOT_FOUND`: nothing to stop, so a message is done with. */
  JOB_NOT_FOUND: row(404, 'JOB_NOT_FOUND', ACKNOWLEDGED),
  /** The outcome `NOT_STOPPABLE`: LakeFormation refused the stop of a job that runs. */
  JOB_NOT_STOPPABLE: row(409, 'JOB_NOT_STOPPABLE', DEAD_LETTERED),
  PAYLOAD_TOO_LARGE: row(413, 'PAYLOAD_TOO_LARGE', WEBHOOK_ONLY),
  UNSUPPORTED_MEDIA_TYPE: row(415, 'UNSUPPORTED_MEDIA_TYPE', WEBHOOK_ONLY),
  /** LakeFormation throttles (429). */
  THROTTLED: row(429, 'THROTTLED', RETRY),
  /** A defect of ours, or a failure nothing else names. */
  INTERNAL: row(500, 'INTERNAL_ERROR', RETRY),
  /** LakeFormation or IAM failed: 5xx, an answer we do not understand, no connection. */
  UPSTREAM_ERROR: row(502, 'UPSTREAM_ERROR', RETRY),
  /** Huawei refused this service's credentials. The caller's request is fine; ours is not. */
  CREDENTIALS_REJECTED: row(502, 'UPSTREAM_ERROR', RETRY),
  /** LakeFormation or IAM did not answer in time. */
  UPSTREAM_TIMEOUT: row(504, 'UPSTREAM_TIMEOUT', RETRY),
  /** A queued stop not started: too close to the Lambda timeout. */
  DEADLINE: row(504, 'UPSTREAM_TIMEOUT', RETRY),
  /** The stop ledger cannot be read or written: no stop is made without its record. */
  LEDGER_UNAVAILABLE: row(503, 'LEDGER_UNAVAILABLE', RETRY),
  /** Another request's stop of the same job run has no outcome yet: ask again shortly. */
  STOP_IN_PROGRESS: row(409, 'STOP_IN_PROGRESS', RETRY),
  /** `GET /stops/{stopId}` of a stop the ledger does not have (or no longer keeps). */
  STOP_NOT_FOUND: row(404, 'STOP_NOT_FOUND', WEBHOOK_ONLY),
  /** An `Idempotency-Key` sent again with another request. */
  IDEMPOTENCY_KEY_REUSED: row(422, 'IDEMPOTENCY_KEY_REUSED', WEBHOOK_ONLY),
  /** An `Idempotency-Key` whose first request is still under way. */
  IDEMPOTENCY_KEY_IN_USE: row(409, 'IDEMPOTENCY_KEY_IN_USE', WEBHOOK_ONLY),
  /** A snooze of a job that is not running (or no longer on the run the snooze names). */
  JOB_NOT_RUNNING: row(409, 'JOB_NOT_RUNNING', WEBHOOK_ONLY),
  /** A snooze past the policy's `maxSnoozes` for the run. */
  SNOOZE_LIMIT: row(409, 'SNOOZE_LIMIT', WEBHOOK_ONLY),
  /** A snooze of a run whose stop was already requested: nothing can hold that stop back any more. */
  STOP_UNDER_WAY: row(409, 'STOP_UNDER_WAY', WEBHOOK_ONLY),
} as const;

export type FailureKind = keyof typeof FAILURES;
/** The `code` vocabulary of the webhook's problem answers. */
export type ProblemCode = (typeof FAILURES)[FailureKind]['problem'];
/** The kinds a queue message is dead-lettered for: its DLQ copy's `errorCode`. */
export type DeadLetterCode = {
  [K in FailureKind]: (typeof FAILURES)[K]['queue'] extends 'dead-lettered' ? K : never;
}[FailureKind];

/** Every kind, in the table's order. */
export const FAILURE_KINDS = /* @__PURE__ */ Object.keys(FAILURES) as FailureKind[];

/** Whether a queue message that ends with `kind` is dead-lettered. */
export const isDeadLetterCode = (kind: FailureKind): kind is DeadLetterCode =>
  FAILURES[kind].queue === 'dead-lettered';

/** Every `errorCode` a message sent to the DLQ by the queue function can carry (docs/runbook.md explains each). */
export const DEAD_LETTER_CODES: readonly DeadLetterCode[] =
  /* @__PURE__ */ FAILURE_KINDS.filter(isDeadLetterCode);

/**
 * What kept a stop from getting an outcome: it was made and failed, or (DEADLINE) was not started in
 * time. All of them are worth retrying later.
 */
export type StopFailureKind =
  | 'THROTTLED'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_ERROR'
  | 'CREDENTIALS_REJECTED'
  | 'LEDGER_UNAVAILABLE'
  | 'STOP_IN_PROGRESS'
  | 'DEADLINE'
  | 'INTERNAL';

export interface Failure {
  kind: StopFailureKind;
  /** The HTTP status the webhook answers with: the kind's, from {@link FAILURES}. */
  httpStatus: (typeof FAILURES)[StopFailureKind]['httpStatus'];
  /** Safe to show a caller or write to a log: no tokens, no keys. */
  detail: string;
  retryAfterSeconds?: number;
  /**
   * No call was made: LakeFormation keeps failing and this container's breaker probes it again in
   * this many seconds. A retry is worth making no later than that (unlike `retryAfterSeconds`, a
   * least wait).
   */
  probeInSeconds?: number;
  upstream?: { status?: number; errorCode?: string; errorMsg?: string; requestId?: string };
}

function failure(
  kind: StopFailureKind,
  detail: string,
  extra: Pick<Failure, 'retryAfterSeconds' | 'probeInSeconds' | 'upstream'> = {},
): Failure {
  return { kind, httpStatus: FAILURES[kind].httpStatus, detail, ...extra };
}

/** A stop not started because too little was left before the Lambda timeout. */
export function deadlineFailure(): Failure {
  return failure('DEADLINE', 'not started: too close to the Lambda timeout');
}

/** Default wait suggested to a throttled caller; Huawei advises 2-5 s. */
const THROTTLE_RETRY_AFTER_SECONDS = 5;
/** Wait suggested while the ledger is unavailable (DynamoDB's own outages are short). */
const LEDGER_RETRY_AFTER_SECONDS = 5;

/** What a failure tells of LakeFormation's answer (text the client has already redacted and cut). */
function upstreamOf(error: LakeFormationHttpError, withRequestId = true): Failure['upstream'] {
  return {
    status: error.status,
    ...(error.errorCode !== undefined && { errorCode: error.errorCode }),
    ...(error.errorMsg !== undefined && { errorMsg: error.errorMsg }),
    ...(withRequestId && error.requestId !== undefined && { requestId: error.requestId }),
  };
}

/**
 * Maps any error raised while stopping a job onto one {@link Failure}. LakeFormation's own 401/403
 * mean our credentials were refused: that is never reported as the caller's 401/403.
 */
export function classifyFailure(error: unknown): Failure {
  if (error instanceof UpstreamPausedError) {
    const retryAfterSeconds = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
    return error.reason === 'breaker'
      ? failure(
          'UPSTREAM_ERROR',
          `LakeFormation keeps failing: no call made (next probe in ${retryAfterSeconds} s)`,
          { retryAfterSeconds, probeInSeconds: retryAfterSeconds },
        )
      : failure('THROTTLED', 'LakeFormation is throttling requests: no call made in time', {
          retryAfterSeconds: Math.max(retryAfterSeconds, THROTTLE_RETRY_AFTER_SECONDS),
        });
  }
  if (error instanceof LakeFormationHttpError) {
    const upstream = upstreamOf(error);
    if (error.status === 429) {
      return failure('THROTTLED', 'LakeFormation is throttling requests', {
        retryAfterSeconds: error.retryAfterSeconds ?? THROTTLE_RETRY_AFTER_SECONDS,
        upstream,
      });
    }
    if (error.status === 408) return failure('UPSTREAM_TIMEOUT', 'LakeFormation timed out', { upstream });
    if (error.status === 403 || isTokenRefusal(error.status, error.errorCode)) {
      return failure(
        'CREDENTIALS_REJECTED',
        `LakeFormation refused this service's credentials (HTTP ${error.status})`,
        { upstream },
      );
    }
    return failure('UPSTREAM_ERROR', `LakeFormation answered HTTP ${error.status}`, { upstream });
  }
  if (error instanceof InstanceNotFoundError) {
    return failure(
      'UPSTREAM_ERROR',
      `LakeFormation has no instance ${error.instanceId} in this project: check LAKEFORMATION_INSTANCE_ID and LAKEFORMATION_ALLOWED_INSTANCE_IDS`,
      // the list answer that said so, without its request id (it is not the caller's request)
      { upstream: upstreamOf(error.cause, false) },
    );
  }
  if (error instanceof LakeFormationTimeoutError || error instanceof DeadlineExceededError) {
    return failure('UPSTREAM_TIMEOUT', error.message);
  }
  if (error instanceof LakeFormationNetworkError || error instanceof LakeFormationResponseError) {
    return failure('UPSTREAM_ERROR', error.message);
  }
  if (error instanceof CredentialsRejectedError || error instanceof CredentialsConfigError) {
    return failure('CREDENTIALS_REJECTED', error.message);
  }
  if (error instanceof IamUnavailableError) {
    return failure(error.timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_ERROR', error.message);
  }
  if (error instanceof LedgerUnavailableError) {
    return failure('LEDGER_UNAVAILABLE', error.message, { retryAfterSeconds: LEDGER_RETRY_AFTER_SECONDS });
  }
  if (error instanceof StopInProgressError) {
    return failure('STOP_IN_PROGRESS', error.message, { retryAfterSeconds: error.retryAfterSeconds });
  }
  return failure('INTERNAL', 'internal error');
}
