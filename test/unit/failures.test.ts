import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../lib/domain/failures.js';
import {
  CredentialsConfigError,
  CredentialsRejectedError,
  IamUnavailableError,
} from '../../lib/upstream/huawei/errors.js';
import {
  DeadlineExceededError,
  InstanceNotFoundError,
  LakeFormationHttpError,
  LakeFormationNetworkError,
  LakeFormationResponseError,
  LakeFormationTimeoutError,
} from '../../lib/upstream/lakeformation/errors.js';

const http = (status: number, retryAfterSeconds?: number) =>
  new LakeFormationHttpError(
    'stopJob',
    status,
    { errorCode: 'E', errorMsg: 'm' },
    retryAfterSeconds === undefined ? {} : { retryAfterSeconds },
  );

describe('Function: classifyFailure()', () => {
  it.each([
    ['LakeFormation 429', http(429), 'THROTTLED', 429],
    ['LakeFormation 408', http(408), 'UPSTREAM_TIMEOUT', 504],
    ['a request timeout', new LakeFormationTimeoutError('stopJob', 10), 'UPSTREAM_TIMEOUT', 504],
    ['the deadline', new DeadlineExceededError('stopJob'), 'UPSTREAM_TIMEOUT', 504],
    ['LakeFormation 500', http(500), 'UPSTREAM_ERROR', 502],
    ['LakeFormation 503', http(503), 'UPSTREAM_ERROR', 502],
    ['a network error', new LakeFormationNetworkError('stopJob', new Error('reset')), 'UPSTREAM_ERROR', 502],
    ['a malformed answer', new LakeFormationResponseError('getJob', 'bad'), 'UPSTREAM_ERROR', 502],
    ['LakeFormation 401', http(401), 'CREDENTIALS_REJECTED', 502],
    ['LakeFormation 403', http(403), 'CREDENTIALS_REJECTED', 502],
    [
      'LakeFormation 400 invalid token',
      new LakeFormationHttpError('stopJob', 400, { errorCode: 'lakeformation.00000015' }),
      'CREDENTIALS_REJECTED',
      502,
    ],
    [
      'LakeFormation 400 of another code',
      new LakeFormationHttpError('stopJob', 400, { errorCode: 'common.01000001' }),
      'UPSTREAM_ERROR',
      502,
    ],
    ['IAM refusing the password', new CredentialsRejectedError('no', 401), 'CREDENTIALS_REJECTED', 502],
    [
      'an unreadable secret',
      new CredentialsConfigError('secret x could not be read'),
      'CREDENTIALS_REJECTED',
      502,
    ],
    ['IAM down', new IamUnavailableError('down', 503), 'UPSTREAM_ERROR', 502],
    [
      'IAM not answering in time',
      new IamUnavailableError('slow', undefined, { timedOut: true }),
      'UPSTREAM_TIMEOUT',
      504,
    ],
    [
      'an instance LakeFormation does not have',
      new InstanceNotFoundError('inst-1', new LakeFormationHttpError('listJobs', 404, {})),
      'UPSTREAM_ERROR',
      502,
    ],
    ['a bug', new TypeError('x is undefined'), 'INTERNAL', 500],
  ])('maps %s to %s (HTTP %i)', (_name, error, kind, httpStatus) => {
    expect(classifyFailure(error)).toMatchObject({ kind, httpStatus });
  });

  it('never turns LakeFormation 401/403 into the caller’s 401/403', () => {
    for (const status of [401, 403]) expect(classifyFailure(http(status)).httpStatus).toBe(502);
  });

  it('suggests a Retry-After when throttled, taking LakeFormation’s own when it sent one', () => {
    expect(classifyFailure(http(429)).retryAfterSeconds).toBeGreaterThan(0);
    expect(classifyFailure(http(429, 17)).retryAfterSeconds).toBe(17);
  });

  it('keeps the upstream details of an HTTP failure', () => {
    expect(classifyFailure(http(500)).upstream).toEqual({ status: 500, errorCode: 'E', errorMsg: 'm' });
  });

  it('does not expose the message of an unexpected error', () => {
    expect(classifyFailure(new Error('token=abc leaked')).detail).toBe('internal error');
  });
});
