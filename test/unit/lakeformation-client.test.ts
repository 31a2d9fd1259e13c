import { describe, expect, it } from 'vitest';
import {
  createLakeFormationClient,
  type LakeFormationClientOptions,
} from '../../lib/upstream/lakeformation/client.js';
import {
  DeadlineExceededError,
  InvalidArgumentError,
  InvalidIdentifierError,
  LakeFormationHttpError,
  LakeFormationNetworkError,
  LakeFormationResponseError,
  LakeFormationTimeoutError,
} from '../../lib/upstream/lakeformation/errors.js';
import { countingTokens, type FakeAnswer, fakeFetch } from '../support/fake-fetch.js';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const JOB = '03141229-84cd-4b1b-9733-dd124320c125';
const REF = { instanceId: INSTANCE, jobId: JOB };

/** A clock that only moves when the client sleeps, so back-off is instant and observable. */
function virtualTiming(start = 1_000_000) {
  const sleeps: number[] = [];
  let now = start;
  return {
    sleeps,
    timing: {
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
      random: () => 0.999,
    },
  };
}

function setup(answers: FakeAnswer[], options: Partial<LakeFormationClientOptions> = {}) {
  const fetch = fakeFetch(answers);
  const tokens = countingTokens();
  const clock = virtualTiming();
  const client = createLakeFormationClient({
    endpoint: 'https://lakeformation.cn-north-4.myhuaweicloud.com/',
    projectId: PROJECT,
    tokens,
    fetch,
    timing: clock.timing,
    ...options,
  });
  return { client, fetch, tokens, clock };
}

/** A client on a clock that starts at 0 and only moves while getting a token, which takes `signInMs`. */
function slowSignIn(signInMs: number, answers: FakeAnswer[]) {
  let now = 0;
  const fetch = fakeFetch(answers);
  const client = createLakeFormationClient({
    endpoint: 'https://lakeformation.test',
    projectId: PROJECT,
    tokens: {
      getToken: async () => {
        now += signInMs;
        return 'token';
      },
      invalidate: () => {},
    },
    fetch,
    retry: { maxAttempts: 1 },
    timing: { now: () => now },
  });
  return { client, fetch };
}

describe('Function: createLakeFormationClient()', () => {
  describe('stopJob', () => {
    it('posts to the documented stop path with the token in X-Auth-Token', async () => {
      // Prepare
      const { client, fetch } = setup([{ status: 202 }]);

      // Act
      await client.stopJob(REF);

      // Assess
      expect(fetch.calls).toHaveLength(1);
      expect(fetch.calls[0]).toMatchObject({
        method: 'POST',
        url: `https://lakeformation.cn-north-4.myhuaweicloud.com/v1/${PROJECT}/instances/${INSTANCE}/lf-jobs/${JOB}/stop`,
        headers: { 'x-auth-token': 'token-1', 'user-agent': 'lf-job-stopper' },
      });
    });

    it.each([
      ['..', 'jobId'],
      ['a/b', 'jobId'],
      ['job 1', 'jobId'],
      ['a'.repeat(65), 'jobId'],
      ['', 'jobId'],
      ['%2e%2e', 'jobId'],
    ])('rejects the malformed job id %j before any request', async (jobId, field) => {
      const { client, fetch } = setup([]);
      const error = await client.stopJob({ instanceId: INSTANCE, jobId }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidIdentifierError);
      expect((error as InvalidIdentifierError).field).toBe(field);
      expect(fetch.calls).toHaveLength(0);
    });

    it('rejects a malformed instance id before any request', async () => {
      const { client, fetch } = setup([]);
      await expect(client.getJob({ instanceId: '../other', jobId: JOB })).rejects.toMatchObject({
        name: 'InvalidIdentifierError',
        field: 'instanceId',
      });
      expect(fetch.calls).toHaveLength(0);
    });

    it('accepts a 64-character id, the longest allowed', async () => {
      const { client, fetch } = setup([{ status: 202 }]);
      await client.stopJob({ instanceId: INSTANCE, jobId: 'a'.repeat(64) });
      expect(fetch.calls[0]?.url).toMatch(/\/lf-jobs\/a{64}\/stop$/);
    });
  });

  describe('errors', () => {
    it('reads the flat error shape with solution_msg and the request id', async () => {
      const { client } = setup([
        {
          status: 404,
          body: {
            error_code: 'common.01000001',
            error_msg: 'response status exception, code: 404',
            solution_msg: 'Please use correct instance id.',
          },
          headers: { 'X-request-id': 'req-42' },
        },
      ]);
      const error = await client.getJob(REF).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LakeFormationHttpError);
      expect(error).toMatchObject({
        status: 404,
        errorCode: 'common.01000001',
        errorMsg: 'response status exception, code: 404',
        solutionMsg: 'Please use correct instance id.',
        requestId: 'req-42',
        operation: 'getJob',
      });
    });

    it('reads the 403 shape nested under error', async () => {
      const { client } = setup([
        {
          status: 403,
          body: {
            error: {
              code: '403',
              message: 'X-Auth-Token is invalid in the request',
              error_code: null,
              error_msg: null,
              title: 'Forbidden',
            },
          },
        },
      ]);
      await expect(client.stopJob(REF)).rejects.toMatchObject({
        status: 403,
        errorCode: '403',
        errorMsg: 'X-Auth-Token is invalid in the request',
      });
    });

    it('gives a typed error for a body that is not JSON', async () => {
      const { client } = setup([{ status: 400, body: '<html>Bad Gateway</html>' }]);
      const error = await client.stopJob(REF).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LakeFormationHttpError);
      expect(error).toMatchObject({ status: 400, errorMsg: '<html>Bad Gateway</html>' });
      expect((error as LakeFormationHttpError).errorCode).toBeUndefined();
    });

    it('reads a numeric code in the nested shape as text', async () => {
      const { client } = setup([{ status: 403, body: { error: { code: 403, message: 'Forbidden' } } }]);
      await expect(client.stopJob(REF)).rejects.toMatchObject({ errorCode: '403', errorMsg: 'Forbidden' });
    });

    it('keeps only a short excerpt of a large body that is not JSON', async () => {
      const page = `<html><body>${'x'.repeat(10_000)}</body></html>`;
      const { client } = setup([{ status: 400, body: page }]);
      const error = (await client.stopJob(REF).catch((e: unknown) => e)) as LakeFormationHttpError;
      expect(error.errorMsg).toBe(page.slice(0, 200));
    });

    it.each([200, 201, 204])(
      'takes a stop answered %i for an answer it does not understand, once, never for acceptance',
      async (status) => {
        // Prepare
        const { client, fetch } = setup([{ status, body: status === 204 ? undefined : '<html>ok</html>' }]);
        // Act
        const error = await client.stopJob(REF).catch((e: unknown) => e);
        // Assess
        expect(error).toBeInstanceOf(LakeFormationResponseError);
        expect((error as Error).message).toBe(
          `stopJob: LakeFormation answered HTTP ${status}, not the documented 202`,
        );
        expect(fetch.calls).toHaveLength(1);
      },
    );

    it('takes a job read answered 202 for an answer it does not understand', async () => {
      const { client } = setup([{ status: 202, body: { id: JOB, status: 'RUNNING' } }]);
      await expect(client.getJob(REF)).rejects.toBeInstanceOf(LakeFormationResponseError);
    });

    it('removes the token it sent from every field of an error answer that echoes it', async () => {
      // Prepare
      const { client } = setup([
        {
          status: 400,
          headers: { 'X-Request-Id': 'req token-1' },
          body: { error_code: 'x token-1', error_msg: 'bad token-1', solution_msg: 'send token-1' },
        },
      ]);
      // Act
      const error = (await client.stopJob(REF).catch((e: unknown) => e)) as LakeFormationHttpError;
      // Assess
      expect(error).toMatchObject({
        errorCode: 'x [REDACTED]',
        errorMsg: 'bad [REDACTED]',
        solutionMsg: 'send [REDACTED]',
        requestId: 'req [REDACTED]',
      });
      expect(error.message).not.toContain('token-1');
    });

    it('keeps at most 512 characters of an error_msg', async () => {
      const { client } = setup([{ status: 400, body: { error_msg: 'e'.repeat(5_000) } }]);
      const error = (await client.stopJob(REF).catch((e: unknown) => e)) as LakeFormationHttpError;
      expect(error.errorMsg).toHaveLength(512);
    });

    it('gives a typed error for an empty error body', async () => {
      const { client } = setup([{ status: 409 }]);
      await expect(client.stopJob(REF)).rejects.toMatchObject({
        name: 'LakeFormationHttpError',
        status: 409,
      });
    });

    it('reports a 2xx body that is not JSON as a response error', async () => {
      const { client } = setup([{ status: 200, body: 'not json' }]);
      await expect(client.getJob(REF)).rejects.toBeInstanceOf(LakeFormationResponseError);
    });
  });

  describe('retries', () => {
    it.each([408, 429, 500, 502, 503, 504])('retries HTTP %i and succeeds', async (status) => {
      const { client, fetch } = setup([
        { status, body: { error_code: 'x', error_msg: 'y' } },
        { status: 202 },
      ]);
      await client.stopJob(REF);
      expect(fetch.calls).toHaveLength(2);
    });

    it.each([400, 403, 404, 409, 422])('does not retry HTTP %i', async (status) => {
      const { client, fetch } = setup([{ status, body: {} }, { status: 202 }]);
      await expect(client.stopJob(REF)).rejects.toMatchObject({ status });
      expect(fetch.calls).toHaveLength(1);
    });

    it('retries network errors and keeps the cause when they persist', async () => {
      const { client, fetch } = setup([
        { network: 'ECONNRESET' },
        { network: 'ECONNRESET' },
        { network: 'ECONNRESET' },
        { network: 'ECONNRESET' },
      ]);
      const error = await client.stopJob(REF).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LakeFormationNetworkError);
      expect((error as Error).message).toContain('ECONNRESET');
      expect((error as Error).cause).toBeInstanceOf(TypeError);
      expect(fetch.calls).toHaveLength(4);
    });

    it('gives up after maxAttempts and throws the last error', async () => {
      const { client, fetch } = setup(
        [
          { status: 500 },
          { status: 503 },
          { status: 429, body: { error_code: 'APIG.0308', error_msg: 'limit' } },
        ],
        { retry: { maxAttempts: 3 } },
      );
      await expect(client.stopJob(REF)).rejects.toMatchObject({ status: 429, errorCode: 'APIG.0308' });
      expect(fetch.calls).toHaveLength(3);
    });

    it('backs off exponentially with full jitter, capped', async () => {
      const { client, clock } = setup(
        [
          { status: 500 },
          { status: 500 },
          { status: 500 },
          { status: 500 },
          { status: 500 },
          { status: 202 },
        ],
        { retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 500 } },
      );
      await client.stopJob(REF);
      // random() = 0.999: each wait is just under its ceiling, min(500, 100 * 2^n).
      expect(clock.sleeps).toEqual([99, 199, 399, 499, 499]);
    });

    it('draws each back-off uniformly below its ceiling', async () => {
      const draws = [0, 0.5];
      const sleeps: number[] = [];
      const { client } = setup([{ status: 500 }, { status: 500 }, { status: 202 }], {
        retry: { baseDelayMs: 1000, maxDelayMs: 10_000 },
        timing: {
          now: () => 0,
          sleep: async (ms) => {
            sleeps.push(ms);
          },
          random: () => draws.shift() ?? 0,
        },
      });
      await client.stopJob(REF);
      expect(sleeps).toEqual([0, 1000]);
    });

    it('honours a Retry-After header on 429', async () => {
      const { client, clock } = setup([{ status: 429, headers: { 'Retry-After': '2' } }, { status: 202 }]);
      await client.stopJob(REF);
      expect(clock.sleeps).toEqual([2000]);
    });

    it('passes on a Retry-After longer than any back-off at once, without waiting', async () => {
      const { client, fetch, clock } = setup([
        { status: 429, headers: { 'Retry-After': '30' } },
        { status: 202 },
      ]);
      await expect(client.stopJob(REF)).rejects.toMatchObject({ status: 429, retryAfterSeconds: 30 });
      expect(clock.sleeps).toEqual([]);
      expect(fetch.calls).toHaveLength(1);
    });

    it.each(['', ' ', 'Wed, 21 Oct 2026 07:28:00 GMT', '1.5', '-1'])(
      'ignores the Retry-After value %j and backs off as usual',
      async (value) => {
        const throttled = { status: 429, headers: { 'Retry-After': value } };
        const { client, clock } = setup([throttled, throttled], { retry: { maxAttempts: 2 } });
        const error = await client.stopJob(REF).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LakeFormationHttpError);
        expect((error as LakeFormationHttpError).retryAfterSeconds).toBeUndefined();
        expect(clock.sleeps).toEqual([199]);
      },
    );

    it('never sleeps past the deadline: it throws the last error instead', async () => {
      const { client, fetch, clock } = setup([{ status: 503 }, { status: 503 }, { status: 202 }], {
        retry: { baseDelayMs: 1000, maxDelayMs: 1000 },
      });
      const deadline = clock.timing.now() + 1500;
      await expect(client.stopJob(REF, { deadline })).rejects.toMatchObject({ status: 503 });
      // one back-off of 999 ms fits before the deadline, the second would end past it
      expect(clock.sleeps).toEqual([999]);
      expect(fetch.calls).toHaveLength(2);
      expect(clock.timing.now()).toBeLessThanOrEqual(deadline);
    });

    it('makes no request when the deadline has already passed', async () => {
      const { client, fetch, clock } = setup([{ status: 202 }]);
      await expect(client.stopJob(REF, { deadline: clock.timing.now() - 1 })).rejects.toBeInstanceOf(
        DeadlineExceededError,
      );
      expect(fetch.calls).toHaveLength(0);
    });
  });

  it('asks for no token when the deadline has already passed', async () => {
    const clock = virtualTiming();
    let tokenRequests = 0;
    const client = createLakeFormationClient({
      endpoint: 'https://lakeformation.test',
      projectId: PROJECT,
      tokens: {
        getToken: async () => {
          tokenRequests += 1;
          return 'token';
        },
        invalidate: () => {},
      },
      fetch: fakeFetch([]),
      timing: clock.timing,
    });
    await expect(client.stopJob(REF, { deadline: clock.timing.now() + 49 })).rejects.toBeInstanceOf(
      DeadlineExceededError,
    );
    expect(tokenRequests).toBe(0);
  });

  it('makes no request when getting the token used up the time before the deadline', async () => {
    const { client, fetch } = slowSignIn(960, [{ status: 202 }]); // 40 ms left of 1 s
    await expect(client.stopJob(REF, { deadline: 1_000 })).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(fetch.calls).toHaveLength(0);
  });

  describe('timeouts', () => {
    it('aborts a request that does not answer within timeoutMs, and retries it', async () => {
      const { client, fetch } = setup([{ hang: true }, { status: 202 }], { timing: {}, timeoutMs: 30 });
      await client.stopJob(REF);
      expect(fetch.calls).toHaveLength(2);
    });

    it('reports a timeout when every attempt hangs', async () => {
      const { client } = setup([{ hang: true }, { hang: true }], {
        timing: {},
        timeoutMs: 20,
        retry: { maxAttempts: 2, baseDelayMs: 1 },
      });
      await expect(client.stopJob(REF)).rejects.toBeInstanceOf(LakeFormationTimeoutError);
    });

    it('shortens the request timeout to the time left before the deadline', async () => {
      const { client } = setup([{ hang: true }], {
        timing: {},
        timeoutMs: 60_000,
        retry: { maxAttempts: 1 },
      });
      const started = Date.now();
      const error = await client.stopJob(REF, { deadline: Date.now() + 100 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LakeFormationTimeoutError);
      expect((error as LakeFormationTimeoutError).timeoutMs).toBeLessThanOrEqual(100);
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });

  it('counts the time spent getting a token against the request timeout', async () => {
    const { client } = slowSignIn(900, [{ hang: true }]);

    const error = await client.stopJob(REF, { deadline: 1_000 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LakeFormationTimeoutError);
    expect((error as LakeFormationTimeoutError).timeoutMs).toBe(100);
  });

  describe('token refresh', () => {
    it('on 401 invalidates the token, fetches a new one and repeats the request once', async () => {
      const { client, fetch, tokens } = setup([
        {
          status: 401,
          body: { error_code: 'APIG.1002', error_msg: 'Incorrect token or token resolution failed' },
        },
        { status: 202 },
      ]);
      await client.stopJob(REF);
      expect(tokens.invalidated).toEqual(['token-1']);
      expect(fetch.calls.map((call) => call.headers['x-auth-token'])).toEqual(['token-1', 'token-2']);
    });

    it.each(['00000015', 'lakeformation.00000015', '00000021'])(
      'treats a 400 %s (invalid token / token of another project) like a 401: one refresh and retry',
      async (code) => {
        const { client, fetch, tokens } = setup([
          { status: 400, body: { error_code: code, error_msg: 'invalid token' } },
          { status: 202 },
        ]);
        await client.stopJob(REF);
        expect(tokens.invalidated).toEqual(['token-1']);
        expect(fetch.calls.map((call) => call.headers['x-auth-token'])).toEqual(['token-1', 'token-2']);
      },
    );

    it('does not refresh on any other 400', async () => {
      const { client, fetch, tokens } = setup([
        { status: 400, body: { error_code: 'common.01000001', error_msg: 'bad request' } },
        { status: 202 },
      ]);
      await expect(client.stopJob(REF)).rejects.toMatchObject({ status: 400 });
      expect(tokens.invalidated).toEqual([]);
      expect(fetch.calls).toHaveLength(1);
    });

    it('does not refresh twice: a second 401 is thrown', async () => {
      const { client, fetch, tokens } = setup([
        { status: 401, body: { error_code: 'APIG.1002', error_msg: 'x' } },
        { status: 401, body: { error_code: 'APIG.1002', error_msg: 'x' } },
        { status: 202 },
      ]);
      await expect(client.stopJob(REF)).rejects.toMatchObject({ status: 401, errorCode: 'APIG.1002' });
      expect(tokens.invalidated).toHaveLength(1);
      expect(fetch.calls).toHaveLength(2);
    });
  });

  describe('getJob', () => {
    it.each([
      ['a string', 'RUNNING'],
      ['an object', { status: 'RUNNING' }],
    ])('reads status given as %s', async (_shape, status) => {
      const { client } = setup([
        {
          status: 200,
          body: {
            id: JOB,
            name: 'nightly',
            type: 'METADATA_MIGRATION',
            status,
            start_time: '2023-05-27T10:04:35.743Z',
          },
        },
      ]);
      const job = await client.getJob(REF);
      expect(job).toMatchObject({
        id: JOB,
        status: 'RUNNING',
        startTime: Date.UTC(2023, 4, 27, 10, 4, 35, 743),
      });
    });
  });

  describe('listJobs', () => {
    it('sends every filter and the paging parameters', async () => {
      const { client, fetch } = setup([{ status: 200, body: { total: 0, jobs: [] } }]);
      await client.listJobs({
        instanceId: INSTANCE,
        type: 'METADATA_DISCOVERY',
        status: 'RUNNING',
        namePattern: 'nightly_*',
        offset: 1000,
        limit: 1000,
      });
      const url = new URL(fetch.calls[0]?.url ?? '');
      expect(url.pathname).toBe(`/v1/${PROJECT}/instances/${INSTANCE}/lf-jobs`);
      expect(Object.fromEntries(url.searchParams)).toEqual({
        type: 'METADATA_DISCOVERY',
        status: 'RUNNING',
        name_pattern: 'nightly_*',
        offset: '1000',
        limit: '1000',
      });
    });

    it('parses total and jobs with both status shapes and timestamp precisions', async () => {
      const { client } = setup([
        {
          status: 200,
          body: {
            total: 3,
            jobs: [
              {
                id: 'a',
                name: 'a',
                type: 'METADATA_MIGRATION',
                status: { status: 'SUCCESS' },
                create_time: '2023-05-27T10:04:35.743Z',
              },
              {
                id: 'b',
                name: 'b',
                type: 'METADATA_MIGRATION',
                status: 'RUNNING',
                start_time: '2020-01-04T09:05:22.701000Z',
                execute_time: 42,
              },
            ],
          },
        },
      ]);
      const page = await client.listJobs({ instanceId: INSTANCE, type: 'METADATA_MIGRATION' });
      expect(page.total).toBe(3);
      expect(page.jobs).toEqual([
        {
          id: 'a',
          name: 'a',
          type: 'METADATA_MIGRATION',
          status: 'SUCCESS',
          createTime: Date.UTC(2023, 4, 27, 10, 4, 35, 743),
        },
        {
          id: 'b',
          name: 'b',
          type: 'METADATA_MIGRATION',
          status: 'RUNNING',
          startTime: Date.UTC(2020, 0, 4, 9, 5, 22, 701),
          executeTimeSeconds: 42,
        },
      ]);
    });

    it.each([
      [{ offset: -1 }, 'offset'],
      [{ offset: 1001 }, 'offset'],
      [{ offset: 1.5 }, 'offset'],
      [{ limit: 0 }, 'limit'],
      [{ limit: 1001 }, 'limit'],
    ])('rejects %j outside the API limits before any request', async (paging, field) => {
      const { client, fetch } = setup([]);
      const error = await client
        .listJobs({ instanceId: INSTANCE, type: 'METADATA_MIGRATION', ...paging })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe(field);
      expect(fetch.calls).toHaveLength(0);
    });

    it('rejects an unknown job type before any request', async () => {
      const { client, fetch } = setup([]);
      await expect(
        client.listJobs({ instanceId: INSTANCE, type: 'ALL' as 'METADATA_MIGRATION' }),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(fetch.calls).toHaveLength(0);
    });
  });
});
