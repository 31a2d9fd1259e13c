import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** The `code` vocabulary of the HTTP API's errors. */
export const PROBLEMS = {
  INVALID_REQUEST: { status: 400, title: 'Invalid request' },
  UNAUTHENTICATED: { status: 401, title: 'Caller not authenticated' },
  INSTANCE_NOT_ALLOWED: { status: 403, title: 'Instance not allowed' },
  JOB_NOT_FOUND: { status: 404, title: 'Job not found' },
  JOB_NOT_STOPPABLE: { status: 409, title: 'Job cannot be stopped' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  THROTTLED: { status: 429, title: 'LakeFormation is throttling requests' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  UPSTREAM_ERROR: { status: 502, title: 'LakeFormation call failed' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'LakeFormation did not answer in time' },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;

export interface ProblemOptions {
  headers?: Record<string, string>;
  /** RFC 9457 extension members, e.g. `jobId`. */
  members?: Record<string, unknown>;
}

/** An error that is answered with the given problem; thrown by the request-phase middlewares. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly options: ProblemOptions = {},
  ) {
    super(`${code}: ${detail}`);
  }
}

const NO_STORE = { 'Cache-Control': 'no-store' };

/** An `application/problem+json` (RFC 9457) response: `{"type","title","status","detail","code"}`. */
export function problemResponse(
  code: ProblemCode,
  detail: string,
  options: ProblemOptions = {},
): APIGatewayProxyStructuredResultV2 {
  const { status, title } = PROBLEMS[code];
  return {
    statusCode: status,
    headers: { 'Content-Type': 'application/problem+json', ...NO_STORE, ...options.headers },
    // Extension members first: they can never override the standard ones.
    body: JSON.stringify({
      ...options.members,
      type: `urn:lf-job-stopper:problem:${code.toLowerCase().replaceAll('_', '-')}`,
      title,
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
