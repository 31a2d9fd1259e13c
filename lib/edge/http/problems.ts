import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { FAILURE_KINDS, FAILURES, type FailureKind, type ProblemCode } from '../../domain/failures.js';

/** How the webhook titles each problem code; the status comes with the failure (domain/failures.ts). */
const PROBLEM_TITLES: Record<ProblemCode, string> = {
  INVALID_REQUEST: 'Invalid request',
  UNAUTHENTICATED: 'Caller not authenticated',
  INSTANCE_NOT_ALLOWED: 'Instance not allowed',
  JOB_NOT_FOUND: 'Job not found',
  JOB_NOT_STOPPABLE: 'Job cannot be stopped',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  THROTTLED: 'LakeFormation is throttling requests',
  INTERNAL_ERROR: 'Internal error',
  UPSTREAM_ERROR: 'LakeFormation call failed',
  UPSTREAM_TIMEOUT: 'LakeFormation did not answer in time',
  LEDGER_UNAVAILABLE: 'The stop ledger is unavailable',
  STOP_IN_PROGRESS: 'Another request is stopping this job',
  STOP_NOT_FOUND: 'Stop not found',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency key used for another request',
  IDEMPOTENCY_KEY_IN_USE: 'Idempotency key in use',
  JOB_NOT_RUNNING: 'Job is not running',
  SNOOZE_LIMIT: 'Snooze limit reached',
  STOP_UNDER_WAY: 'A stop of this run is already under way',
};

/** The `code` vocabulary of the HTTP API's errors, each with its status and title (docs/openapi.yaml). */
export const PROBLEMS: Readonly<Record<ProblemCode, { status: number; title: string }>> =
  /* @__PURE__ */ problemsByCode();

function problemsByCode() {
  const problems: Partial<Record<ProblemCode, { status: number; title: string }>> = {};
  for (const kind of FAILURE_KINDS) {
    const { problem, httpStatus } = FAILURES[kind];
    problems[problem] ??= { status: httpStatus, title: PROBLEM_TITLES[problem] };
  }
  return problems as Record<ProblemCode, { status: number; title: string }>;
}

export interface ProblemOptions {
  headers?: Record<string, string>;
  /** RFC 9457 extension members, e.g. `jobId`. */
  members?: Record<string, unknown>;
}

/** A request refused for `kind`; thrown by the request-phase middlewares, answered as its problem. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  /** The problem code the answer carries. */
  readonly code: ProblemCode;
  constructor(
    readonly kind: FailureKind,
    readonly detail: string,
    readonly options: ProblemOptions = {},
  ) {
    const code = FAILURES[kind].problem;
    super(`${code}: ${detail}`);
    this.code = code;
  }
}

const NO_STORE = { 'Cache-Control': 'no-store' };

/**
 * The `application/problem+json` (RFC 9457) answer for a failure of `kind`:
 * `{"type","title","status","detail","code"}`, its status and code from the kind's row.
 */
export function problemResponse(
  kind: FailureKind,
  detail: string,
  options: ProblemOptions = {},
): APIGatewayProxyStructuredResultV2 {
  const { httpStatus: status, problem: code } = FAILURES[kind];
  return {
    statusCode: status,
    headers: { 'Content-Type': 'application/problem+json', ...NO_STORE, ...options.headers },
    // Extension members first: they can never override the standard ones.
    body: JSON.stringify({
      ...options.members,
      type: `urn:lf-job-stopper:problem:${code.toLowerCase().replaceAll('_', '-')}`,
      title: PROBLEM_TITLES[code],
      status,
      detail,
      code,
    }),
  };
}

/** A JSON success response. */
export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...NO_STORE },
    body: JSON.stringify(body),
  };
}
