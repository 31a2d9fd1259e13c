import { redactSecrets } from '../transport/redact.js';

/** Base class of every failure the LakeFormation client reports. */
export class LakeFormationError extends Error {
  override name = 'LakeFormationError';
  /** The client operation that failed, e.g. `stopJob`. */
  readonly operation: string;

  constructor(operation: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.operation = operation;
  }
}

/** Fields LakeFormation puts in an error body, from either of its two shapes. */
export interface UpstreamErrorBody {
  errorCode?: string;
  errorMsg?: string;
  solutionMsg?: string;
}

/** LakeFormation answered with a non-2xx status. */
export class LakeFormationHttpError extends LakeFormationError {
  override name = 'LakeFormationHttpError';
  readonly status: number;
  readonly errorCode?: string;
  readonly errorMsg?: string;
  readonly solutionMsg?: string;
  readonly requestId?: string;
  /** Seconds from a `Retry-After` header, when LakeFormation sent one. */
  readonly retryAfterSeconds?: number;

  constructor(
    operation: string,
    status: number,
    body: UpstreamErrorBody,
    meta: { requestId?: string; retryAfterSeconds?: number } = {},
  ) {
    const detail = [body.errorCode, body.errorMsg].filter(Boolean).join(' ');
    super(operation, `${operation} failed with HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.status = status;
    if (body.errorCode !== undefined) this.errorCode = body.errorCode;
    if (body.errorMsg !== undefined) this.errorMsg = body.errorMsg;
    if (body.solutionMsg !== undefined) this.solutionMsg = body.solutionMsg;
    if (meta.requestId !== undefined) this.requestId = meta.requestId;
    if (meta.retryAfterSeconds !== undefined) this.retryAfterSeconds = meta.retryAfterSeconds;
  }
}

/**
 * Whether `errorCode` is one of `codes` from Huawei's LakeFormation error table (`00000005`), with or
 * without a service prefix (`lakeformation.00000005`): the docs do not say which arrives.
 */
export function isErrorTableCode(errorCode: string | undefined, ...codes: string[]): boolean {
  return errorCode !== undefined && codes.includes(errorCode.slice(errorCode.lastIndexOf('.') + 1));
}

/**
 * Whether LakeFormation refused the token rather than the request: 401 from the gateway
 * (`APIG.1002`), or the error table's 400 for an invalid token (`00000015`) or a token of another
 * project (`00000021`).
 */
export function isTokenRefusal(status: number, errorCode: string | undefined): boolean {
  return status === 401 || (status === 400 && isErrorTableCode(errorCode, '00000015', '00000021'));
}

/**
 * LakeFormation says the instance itself does not exist (its job list answers like a missing job): a
 * wrong instance id in the configuration, not a missing job. `cause` is that answer.
 */
export class InstanceNotFoundError extends LakeFormationError {
  override name = 'InstanceNotFoundError';
  constructor(
    readonly instanceId: string,
    override readonly cause: LakeFormationHttpError,
  ) {
    super('listJobs', `LakeFormation has no instance ${instanceId}`, { cause });
  }
}

/** A request got no complete answer within its timeout. */
export class LakeFormationTimeoutError extends LakeFormationError {
  override name = 'LakeFormationTimeoutError';
  constructor(
    operation: string,
    readonly timeoutMs: number,
  ) {
    super(operation, `${operation} timed out after ${timeoutMs} ms`);
  }
}

/** The connection failed (refused, reset, DNS); `cause` keeps the original error. */
export class LakeFormationNetworkError extends LakeFormationError {
  override name = 'LakeFormationNetworkError';
  constructor(operation: string, cause: unknown) {
    super(operation, `${operation} failed: ${describeCause(cause)}`, { cause });
  }
}

/** No time is left before the caller's deadline to make (or retry) a request. */
export class DeadlineExceededError extends LakeFormationError {
  override name = 'DeadlineExceededError';
  constructor(operation: string, options?: ErrorOptions) {
    super(operation, `${operation} was not attempted: the caller's deadline has passed`, options);
  }
}

/** LakeFormation answered 2xx with a body that is not what the API documents. */
export class LakeFormationResponseError extends LakeFormationError {
  override name = 'LakeFormationResponseError';
}

/** An id that is not a safe URL path segment. Raised before any request is made. */
export class InvalidIdentifierError extends Error {
  override name = 'InvalidIdentifierError';
  constructor(
    readonly field: string,
    value: unknown,
  ) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    super(`${field} must be 1-64 letters, digits or dashes, got ${shown}`);
  }
}

/** An argument outside the limits the API accepts (e.g. `limit` over 1000). Raised before any request. */
export class InvalidArgumentError extends Error {
  override name = 'InvalidArgumentError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field} ${message}`);
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = (cause as { cause?: unknown }).cause;
  const code = inner instanceof Error ? ((inner as { code?: string }).code ?? inner.message) : undefined;
  return code ? `${cause.message} (${code})` : cause.message;
}

function asString(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Longest upstream text kept in an error field; Huawei's schema allows 4096, a reader needs less. */
const MAX_UPSTREAM_TEXT = 512;
/** What is kept of a body that is not JSON (an HTML page, a proxy's text). */
const MAX_EXCERPT = 200;

/**
 * Reads an error body in either shape LakeFormation documents: flat
 * (`{"error_code","error_msg","solution_msg"}`) or the 403 shape nested under `error`
 * (`{"error":{"code","message"},...}`). Bodies that are not JSON keep a short excerpt as `errorMsg`.
 * Every field is upstream text that may reach a caller or a log: `secrets` (what the request sent,
 * e.g. its token) are removed from it, and it is kept short.
 */
export function parseErrorBody(text: string, secrets: readonly string[] = []): UpstreamErrorBody {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    const excerpt = redactSecrets(text.trim(), secrets).slice(0, MAX_EXCERPT);
    return excerpt ? { errorMsg: excerpt } : {};
  }
  if (typeof data !== 'object' || data === null) return {};
  const flat = data as Record<string, unknown>;
  const nested =
    typeof flat.error === 'object' && flat.error !== null ? (flat.error as Record<string, unknown>) : {};
  const body: UpstreamErrorBody = {};
  const clean = (value: string | undefined) =>
    value === undefined ? undefined : redactSecrets(value, secrets).slice(0, MAX_UPSTREAM_TEXT);
  const errorCode = clean(asString(flat.error_code) ?? asString(nested.error_code) ?? asString(nested.code));
  const errorMsg = clean(asString(flat.error_msg) ?? asString(nested.error_msg) ?? asString(nested.message));
  const solutionMsg = clean(asString(flat.solution_msg) ?? asString(nested.solution_msg));
  if (errorCode !== undefined) body.errorCode = errorCode;
  if (errorMsg !== undefined) body.errorMsg = errorMsg;
  if (solutionMsg !== undefined) body.solutionMsg = solutionMsg;
  return body;
}
