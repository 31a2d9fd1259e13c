import { type RequestAuthorizer, tokenAuthorizer } from '../huawei/request-auth.js';
import type { TokenSource } from '../huawei/token-provider.js';
import { type FetchLike, fetchText, USER_AGENT } from '../transport/fetch-text.js';
import type { FlowControl } from '../transport/flow.js';
import { nodeFetch } from '../transport/node-fetch.js';
import { redactSecrets } from '../transport/redact.js';
import {
  DEFAULT_RETRY,
  type RetryOptions,
  realTiming,
  type Timing,
  withRetries,
} from '../transport/retry.js';
import {
  DeadlineExceededError,
  InvalidArgumentError,
  isTokenRefusal,
  LakeFormationHttpError,
  LakeFormationNetworkError,
  LakeFormationResponseError,
  LakeFormationTimeoutError,
  parseErrorBody,
} from './errors.js';
import { assertId } from './ids.js';
import { isJobType, type Job, type JobPage, type JobType, parseJob, parseJobPage } from './job.js';

export interface LakeFormationClientOptions {
  /** Base URL, e.g. `https://lakeformation.cn-north-4.myhuaweicloud.com`. */
  endpoint: string;
  projectId: string;
  /**
   * How each request is authenticated: IAM tokens, AK/SK signatures (`createCredentialsAuthorizer`
   * picks by the credentials). One of `authorizer` and `tokens` is required.
   */
  authorizer?: RequestAuthorizer;
  /** IAM tokens in `X-Auth-Token`: the same as `authorizer: tokenAuthorizer(tokens)`. */
  tokens?: TokenSource;
  /** @default nodeFetch (node:http) */
  fetch?: FetchLike;
  /**
   * Per-request timeout, body included.
   * @default 10000
   */
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  timing?: Partial<Timing>;
  /**
   * This container's flow control of LakeFormation calls (breaker, calls in flight, rate): every
   * attempt takes a permit. Without it, attempts are made as they come.
   */
  flow?: FlowControl;
}

export interface CallOptions {
  /**
   * Epoch ms by which the call must be over, retries included (e.g. the Lambda's remaining time
   * minus a margin). No attempt starts and no back-off ends past it.
   */
  deadline?: number;
}

export interface JobRef {
  instanceId: string;
  jobId: string;
}

export interface ListJobsParams {
  instanceId: string;
  type: JobType;
  status?: string;
  /** LakeFormation's own name wildcard filter. */
  namePattern?: string;
  /** 0..1000. @default 0 */
  offset?: number;
  /** 1..1000. @default 100 */
  limit?: number;
}

export interface LakeFormationClient {
  /**
   * `POST …/lf-jobs/{job_id}/stop`; resolves when LakeFormation accepted the stop (202, and only
   * 202: another 2xx is a {@link LakeFormationResponseError}).
   */
  stopJob(ref: JobRef, options?: CallOptions): Promise<void>;
  /** `GET …/lf-jobs/{job_id}`. */
  getJob(ref: JobRef, options?: CallOptions): Promise<Job>;
  /** `GET …/lf-jobs?type=&status=&name_pattern=&offset=&limit=`: one page. */
  listJobs(params: ListJobsParams, options?: CallOptions): Promise<JobPage>;
}

/** Offsets and limits the list API accepts. */
export const LIST_LIMITS = { maxOffset: 1000, maxLimit: 1000 } as const;

/** Shortest time worth starting a request in; less than this before the deadline and we stop trying. */
const MIN_ATTEMPT_MS = 50;

/** Whether a failure is worth another attempt, and how long the server asked us to wait. */
export function retryDecision(error: unknown): { retry: boolean; minDelayMs?: number } {
  if (error instanceof LakeFormationHttpError) {
    const retry = error.status === 408 || error.status === 429 || error.status >= 500;
    return error.retryAfterSeconds !== undefined
      ? { retry, minDelayMs: error.retryAfterSeconds * 1000 }
      : { retry };
  }
  return { retry: error instanceof LakeFormationTimeoutError || error instanceof LakeFormationNetworkError };
}

/**
 * Writes a query string, leaving out pairs without a value. A space is written `%20`, never `+`:
 * the gateway reads a `+` in a signed query as a plus (Huawei's signers do, and so does ours), so a
 * `+` for a space would sign another query than the one meant. Otherwise the bytes are those
 * `URLSearchParams` writes (`*-._` and alphanumerics kept, everything else percent-encoded).
 */
export function queryString(pairs: ReadonlyArray<readonly [string, string | undefined]>): string {
  const encode = (text: string) =>
    // a lone surrogate cannot be sent as UTF-8: written as U+FFFD, as URLSearchParams does
    encodeURIComponent(text.replace(/\p{Cs}/gu, '\uFFFD')).replace(
      /[!'()~]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  return pairs
    .filter((pair): pair is readonly [string, string] => pair[1] !== undefined)
    .map(([name, value]) => `${encode(name)}=${encode(value)}`)
    .join('&');
}

function retryAfter(headers: { get(name: string): string | null }): number | undefined {
  const raw = headers.get('retry-after');
  if (raw === null || !/^\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

function requestAuthorizer(options: LakeFormationClientOptions): RequestAuthorizer {
  if (options.authorizer) return options.authorizer;
  if (options.tokens) return tokenAuthorizer(options.tokens);
  throw new TypeError('createLakeFormationClient needs an authorizer or tokens');
}

/**
 * Creates a typed LakeFormation `lf-jobs` client.
 *
 * Retries 408, 429, 5xx, timeouts and network errors with capped exponential back-off and full
 * jitter, never past the caller's deadline. Every request is authorized by the `authorizer` (or
 * `tokens`); when LakeFormation refuses one (401, or an invalid-token 400) the authorizer says
 * whether to repeat that request once, with a fresh authorization.
 *
 * @example
 * const client = createLakeFormationClient({ endpoint, projectId, tokens });
 * await client.stopJob({ instanceId, jobId }, { deadline: Date.now() + 20_000 });
 */
export function createLakeFormationClient(options: LakeFormationClientOptions): LakeFormationClient {
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const projectId = assertId('projectId', options.projectId);
  const authorizer = requestAuthorizer(options);
  const fetchImpl: FetchLike = options.fetch ?? nodeFetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const timing: Timing = { ...realTiming, ...options.timing };

  function jobsPath(instanceId: string): string {
    const instance = encodeURIComponent(assertId('instanceId', instanceId));
    return `/v1/${encodeURIComponent(projectId)}/instances/${instance}/lf-jobs`;
  }

  function jobPath(ref: JobRef): string {
    const base = jobsPath(ref.instanceId);
    return `${base}/${encodeURIComponent(assertId('jobId', ref.jobId))}`;
  }

  /**
   * One authorized request; a refused authorization gets one more try when the authorizer says so
   * (a fresh token, credentials read again). Only the
   * status the API documents for the operation (`expected`) is a success: any other 2xx (a proxy's
   * 200 page, a 204) is an answer we do not understand, never taken for the documented one.
   */
  async function exchange(
    operation: string,
    method: string,
    url: string,
    expected: number,
    deadline: number,
  ) {
    const headers = { Accept: 'application/json', 'User-Agent': USER_AGENT };
    for (let repeated = false; ; repeated = true) {
      if (deadline - timing.now() < MIN_ATTEMPT_MS) throw new DeadlineExceededError(operation);
      // the permit first: its wait (a pause, the rate, a free slot) must not age the token or the
      // signature the request is sent with
      const permit = await options.flow?.acquire(deadline - MIN_ATTEMPT_MS);
      let authorization: Awaited<ReturnType<RequestAuthorizer['authorize']>>;
      try {
        authorization = await authorizer.authorize({ method, url, headers }, deadline);
      } catch (error) {
        permit?.release('abandoned');
        throw error;
      }
      // measured after the permit and the authorization, which may have taken an IAM call
      const left = deadline - timing.now();
      if (left < MIN_ATTEMPT_MS) {
        permit?.release('abandoned');
        throw new DeadlineExceededError(operation);
      }
      const { secrets } = authorization;
      const attemptTimeout = Math.min(timeoutMs, left);
      let response: Awaited<ReturnType<typeof fetchText>>;
      try {
        response = await fetchText(
          fetchImpl,
          url,
          { method, headers: { ...authorization.headers, ...headers } },
          attemptTimeout,
          {
            timeout: (ms) => new LakeFormationTimeoutError(operation, ms),
            network: (cause) => new LakeFormationNetworkError(operation, cause),
            tooLarge: (max) =>
              new LakeFormationResponseError(
                operation,
                `${operation}: the answer body is longer than ${max} bytes`,
              ),
          },
        );
      } catch (error) {
        permit?.release(
          error instanceof LakeFormationResponseError
            ? 'answered'
            : // cut short by the caller's deadline, not by LakeFormation: says nothing of its health
              error instanceof LakeFormationTimeoutError && attemptTimeout < timeoutMs
              ? 'abandoned'
              : 'failed',
        );
        throw error;
      }
      if (permit) {
        const seconds = response.status === 429 ? retryAfter(response.headers) : undefined;
        permit.release(
          response.status === 429
            ? { throttled: true, ...(seconds !== undefined && { retryAfterMs: seconds * 1000 }) }
            : response.status === 408 || response.status >= 500
              ? 'failed'
              : 'answered',
        );
      }
      if (response.status === expected) return response;
      if (response.status >= 200 && response.status < 300) {
        throw new LakeFormationResponseError(
          operation,
          `${operation}: LakeFormation answered HTTP ${response.status}, not the documented ${expected}`,
        );
      }
      const body = parseErrorBody(response.text, secrets);
      if (isTokenRefusal(response.status, body.errorCode)) {
        const verdict = authorizer.refused(authorization.handle, {
          status: response.status,
          ...(body.errorCode !== undefined && { errorCode: body.errorCode }),
          ...(body.errorMsg !== undefined && { errorMsg: body.errorMsg }),
          date: response.headers.get('date'),
          receivedAt: timing.now(),
          repeated,
        });
        if (verdict.retry && !repeated) continue;
        if (!verdict.retry && verdict.error) throw verdict.error;
      }
      const meta: { requestId?: string; retryAfterSeconds?: number } = {};
      const requestId = redactSecrets(response.headers.get('x-request-id') ?? '', secrets).slice(0, 128);
      const seconds = retryAfter(response.headers);
      if (requestId) meta.requestId = requestId;
      if (seconds !== undefined) meta.retryAfterSeconds = seconds;
      throw new LakeFormationHttpError(operation, response.status, body, meta);
    }
  }

  function call(
    operation: string,
    method: string,
    url: string,
    expected: number,
    callOptions: CallOptions = {},
  ) {
    const deadline = callOptions.deadline ?? Number.POSITIVE_INFINITY;
    return withRetries(() => exchange(operation, method, url, expected, deadline), retryDecision, {
      options: retry,
      timing,
      deadline,
    });
  }

  function json(operation: string, text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new LakeFormationResponseError(operation, `${operation}: response body is not JSON`);
    }
  }

  return {
    async stopJob(ref, callOptions) {
      // 202: "the stop signal has been received", the only answer that means the stop was accepted
      await call('stopJob', 'POST', `${endpoint}${jobPath(ref)}/stop`, 202, callOptions);
    },

    async getJob(ref, callOptions) {
      const response = await call('getJob', 'GET', `${endpoint}${jobPath(ref)}`, 200, callOptions);
      return parseJob('getJob', json('getJob', response.text));
    },

    async listJobs(params, callOptions) {
      const offset = params.offset ?? 0;
      const limit = params.limit ?? 100;
      if (!isJobType(params.type))
        throw new InvalidArgumentError('type', `is not a job type: ${params.type}`);
      if (!Number.isInteger(offset) || offset < 0 || offset > LIST_LIMITS.maxOffset) {
        throw new InvalidArgumentError('offset', `must be an integer from 0 to ${LIST_LIMITS.maxOffset}`);
      }
      if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMITS.maxLimit) {
        throw new InvalidArgumentError('limit', `must be an integer from 1 to ${LIST_LIMITS.maxLimit}`);
      }
      const query = queryString([
        ['type', params.type],
        ['status', params.status],
        ['name_pattern', params.namePattern],
        ['offset', String(offset)],
        ['limit', String(limit)],
      ]);
      const url = `${endpoint}${jobsPath(params.instanceId)}?${query}`;
      const response = await call('listJobs', 'GET', url, 200, callOptions);
      return parseJobPage('listJobs', json('listJobs', response.text));
    },
  };
}
