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

/** What kind of failure kept a stop from getting an outcome. All of them are worth retrying later. */
export type FailureKind =
  | 'THROTTLED'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_ERROR'
  | 'CREDENTIALS_REJECTED'
  | 'INTERNAL';

export interface Failure {
  kind: FailureKind;
  /** The HTTP status the webhook answers with. */
  httpStatus: 429 | 502 | 504 | 500;
  /** Safe to show a caller or write to a log: no tokens, no keys. */
  detail: string;
  retryAfterSeconds?: number;
  upstream?: { status?: number; errorCode?: string; errorMsg?: string; requestId?: string };
}

/** Default wait suggested to a throttled caller; Huawei advises 2-5 s. */
const THROTTLE_RETRY_AFTER_SECONDS = 5;

/**
 * Maps any error raised while stopping a job onto one {@link Failure}. LakeFormation's own 401/403
 * mean our credentials were refused: that is never reported as the caller's 401/403.
 */
export function classifyFailure(error: unknown): Failure {
  if (error instanceof LakeFormationHttpError) {
    const upstream = {
      status: error.status,
      ...(error.errorCode !== undefined && { errorCode: error.errorCode }),
      ...(error.errorMsg !== undefined && { errorMsg: error.errorMsg }),
      ...(error.requestId !== undefined && { requestId: error.requestId }),
    };
    if (error.status === 429) {
      return {
        kind: 'THROTTLED',
        httpStatus: 429,
        detail: 'LakeFormation is throttling requests',
        retryAfterSeconds: error.retryAfterSeconds ?? THROTTLE_RETRY_AFTER_SECONDS,
        upstream,
      };
    }
    if (error.status === 408) {
      return { kind: 'UPSTREAM_TIMEOUT', httpStatus: 504, detail: 'LakeFormation timed out', upstream };
    }
    if (error.status === 403 || isTokenRefusal(error.status, error.errorCode)) {
      return {
        kind: 'CREDENTIALS_REJECTED',
        httpStatus: 502,
        detail: `LakeFormation refused this service's credentials (HTTP ${error.status})`,
        upstream,
      };
    }
    return {
      kind: 'UPSTREAM_ERROR',
      httpStatus: 502,
      detail: `LakeFormation answered HTTP ${error.status}`,
      upstream,
    };
  }
  if (error instanceof InstanceNotFoundError) {
    return {
      kind: 'UPSTREAM_ERROR',
      httpStatus: 502,
      detail: `LakeFormation has no instance ${error.instanceId} in this project: check LAKEFORMATION_INSTANCE_ID and LAKEFORMATION_ALLOWED_INSTANCE_IDS`,
      upstream: {
        status: error.cause.status,
        ...(error.cause.errorCode !== undefined && { errorCode: error.cause.errorCode }),
        ...(error.cause.errorMsg !== undefined && { errorMsg: error.cause.errorMsg }),
      },
    };
  }
  if (error instanceof LakeFormationTimeoutError || error instanceof DeadlineExceededError) {
    return { kind: 'UPSTREAM_TIMEOUT', httpStatus: 504, detail: error.message };
  }
  if (error instanceof LakeFormationNetworkError || error instanceof LakeFormationResponseError) {
    return { kind: 'UPSTREAM_ERROR', httpStatus: 502, detail: error.message };
  }
  if (error instanceof CredentialsRejectedError || error instanceof CredentialsConfigError) {
    return { kind: 'CREDENTIALS_REJECTED', httpStatus: 502, detail: error.message };
  }
  if (error instanceof IamUnavailableError) {
    return error.timedOut
      ? { kind: 'UPSTREAM_TIMEOUT', httpStatus: 504, detail: error.message }
      : { kind: 'UPSTREAM_ERROR', httpStatus: 502, detail: error.message };
  }
  return { kind: 'INTERNAL', httpStatus: 500, detail: 'internal error' };
}
