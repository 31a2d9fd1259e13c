import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import { forJob, httpEvent, parse, signed, withBearer } from '../support/http.js';
import { captureLogs, emfTotals, registerSecret } from '../support/logs.js';
import { offlineStopJob } from '../support/stop-job-offline.js';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const OTHER = '7d3c1a52-0c6e-4f0e-9d7b-3b0e5d2f9a11';
const JOB = '03141229-84cd-4b1b-9733-dd124320c125';
/** A receipt's stop id: a UUID version 7. */
const STOP_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const OTHER_JOB = '5f0c7e2a-1b7d-4c55-9a43-2e6f0a8d1c01';
const KEYS = {
  hmacKeys: ['hmac-key-old', 'hmac-key-new'],
  bearerTokens: ['bearer-token-1', 'bearer-token-2'],
};
registerSecret(...KEYS.hmacKeys, ...KEYS.bearerTokens, 'unit-password', 'token-1', 'token-2');

const {
  secretsManager,
  upstream,
  invoke: invokeRaw,
} = offlineStopJob({
  instanceId: INSTANCE,
  allowedInstanceIds: OTHER,
  password: 'unit-password',
  keys: KEYS,
});

beforeEach(() => {
  upstream.calls.length = 0;
  upstream.onStop = () => ({ status: 202 });
  upstream.onList = { status: 200, body: { total: 0, jobs: [] } };
  upstream.onGet = (jobId) => ({
    status: 200,
    body: { id: jobId, name: 'n', type: 'METADATA_MIGRATION', status: 'RUNNING' },
  });
});

/** The bearer sample event, authenticated, for `jobId`. */
function request(jobId = JOB, instanceId?: string): StopJobEvent {
  return forJob(withBearer(httpEvent('http-stop-job-bearer'), 'bearer-token-1'), jobId, instanceId);
}

async function invoke(event: StopJobEvent, remainingMs = 20_000) {
  return parse(await invokeRaw(event, remainingMs));
}

function expectProblem(response: ReturnType<typeof parse>, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['Content-Type']).toBe('application/problem+json');
  expect(response.body).toMatchObject({
    status,
    code,
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(response.body.type).toMatch(/^urn:lf-job-stopper:problem:/);
}

describe('Function: stop-job handler', () => {
  describe('outcomes', () => {
    it('answers 202 STOP_REQUESTED when LakeFormation accepts the stop', async () => {
      const response = await invoke(request());

      expect(response.statusCode).toBe(202);
      expect(response.headers['Content-Type']).toBe('application/json');
      expect(response.body).toEqual({
        jobId: JOB,
        instanceId: INSTANCE,
        outcome: 'STOP_REQUESTED',
        stopId: expect.stringMatching(STOP_ID),
      });
      expect(response.headers.Location).toBe(`/stops/${response.body.stopId}`);
      expect(upstream.calls.filter((c) => c.kind === 'stop')[0]?.url).toBe(
        `https://lakeformation.test/v1/${PROJECT}/instances/${INSTANCE}/lf-jobs/${JOB}/stop`,
      );
    });

    it('answers 200 NOT_RUNNING with the status when the refused job has finished', async () => {
      upstream.onStop = { status: 400, body: { error_code: 'common.01000001', error_msg: 'x' } };
      upstream.onGet = (jobId) => ({ status: 200, body: { id: jobId, status: { status: 'SUCCESS' } } });

      const response = await invoke(request());

      expect(response.statusCode).toBe(200);
      expect(response.body).toEqual({
        jobId: JOB,
        instanceId: INSTANCE,
        outcome: 'NOT_RUNNING',
        status: 'SUCCESS',
        stopId: expect.stringMatching(STOP_ID),
      });
      expect(response.headers.Location).toBeUndefined();
    });

    it('answers 404 JOB_NOT_FOUND when LakeFormation has no such job', async () => {
      upstream.onStop = {
        status: 404,
        body: { error_code: 'common.01000001', error_msg: 'response status exception, code: 404' },
      };

      const response = await invoke(request());

      expectProblem(response, 404, 'JOB_NOT_FOUND');
      expect(response.body).toMatchObject({ jobId: JOB, instanceId: INSTANCE, outcome: 'NOT_FOUND' });
    });

    it('answers 404 JOB_NOT_FOUND when LakeFormation says 400 "resource not found" to the stop and the read', async () => {
      const missing = {
        status: 400,
        body: { error_code: '00000005', error_msg: 'The resource was not found.' },
      };
      upstream.onStop = missing;
      upstream.onGet = () => missing;

      const response = await invoke(request());

      expectProblem(response, 404, 'JOB_NOT_FOUND');
      expect(response.body).toMatchObject({ outcome: 'NOT_FOUND' });
    });

    it('answers 502, never 404, when the instance itself does not exist (a wrong instance id)', async () => {
      const missing = {
        status: 404,
        body: { error_code: 'common.01000001', error_msg: 'response status exception, code: 404' },
      };
      upstream.onStop = missing;
      upstream.onList = missing;

      const response = await invoke(request());

      expectProblem(response, 502, 'UPSTREAM_ERROR');
      expect(response.body.detail).toContain(`LakeFormation has no instance ${INSTANCE}`);
      expect(response.body.detail).toContain('LAKEFORMATION_INSTANCE_ID');
    });

    it('answers 409 JOB_NOT_STOPPABLE when LakeFormation refuses to stop a frozen job', async () => {
      upstream.onStop = { status: 409, body: { error_code: 'LF.0001', error_msg: 'frozen' } };
      upstream.onGet = (jobId) => ({ status: 200, body: { id: jobId, status: 'FROZEN_UNRELEASABLE' } });

      const response = await invoke(request());

      expectProblem(response, 409, 'JOB_NOT_STOPPABLE');
      expect(response.body).toMatchObject({ outcome: 'NOT_STOPPABLE', jobStatus: 'FROZEN_UNRELEASABLE' });
      expect(response.body.detail).toContain('LF.0001: frozen');
    });

    it('stops the run the body names by its runStartedAt, reading the job first', async () => {
      upstream.onGet = (jobId) => ({
        status: 200,
        body: { id: jobId, status: 'RUNNING', start_time: '2026-05-27T10:04:35.743Z' },
      });
      const event = request();
      event.body = JSON.stringify({ runStartedAt: '2026-05-27T10:04:35.743Z' });

      const response = await invoke(event);

      expect(response.statusCode).toBe(202);
      expect(upstream.calls.map((c) => c.kind).filter((kind) => kind !== 'iam')).toEqual(['get', 'stop']);
    });

    it('answers 200 RUN_CHANGED, and stops nothing, when the job is on another run than the body names', async () => {
      upstream.onGet = (jobId) => ({
        status: 200,
        body: { id: jobId, status: { status: 'RUNNING' }, start_time: '2026-05-27T13:00:00.000Z' },
      });
      const event = request();
      event.body = JSON.stringify({ runStartedAt: '2026-05-27T10:04:35.743Z' });

      const response = await invoke(event);

      expect(response.statusCode).toBe(200);
      expect(response.body).toEqual({
        jobId: JOB,
        instanceId: INSTANCE,
        outcome: 'RUN_CHANGED',
        status: 'RUNNING',
        detail: "the job's run started at 2026-05-27T13:00:00.000Z, not 2026-05-27T10:04:35.743Z",
        stopId: expect.stringMatching(STOP_ID),
      });
      expect(upstream.calls.filter((c) => c.kind === 'stop')).toHaveLength(0);
    });

    it('acts on a listed instance named in the path', async () => {
      const response = await invoke(request(JOB, OTHER));
      expect(response.body).toMatchObject({ instanceId: OTHER, outcome: 'STOP_REQUESTED' });
      expect(upstream.calls.find((c) => c.kind === 'stop')?.url).toContain(`/instances/${OTHER}/lf-jobs/`);
    });
  });

  describe('upstream failures', () => {
    it('answers 429 THROTTLED with Retry-After when LakeFormation keeps throttling', async () => {
      upstream.onStop = { status: 429, body: { error_code: 'APIG.0308', error_msg: 'over ratelimit' } };

      const response = await invoke(request());

      expectProblem(response, 429, 'THROTTLED');
      expect(Number(response.headers['Retry-After'])).toBeGreaterThan(0);
      expect(response.body).toMatchObject({ upstream: { status: 429, error_code: 'APIG.0308' } });
    });

    it('answers 502 UPSTREAM_ERROR after 5xx retries', async () => {
      upstream.onStop = { status: 500, body: { error_code: 'common.00000500', error_msg: 'internal error' } };
      const response = await invoke(request());
      expectProblem(response, 502, 'UPSTREAM_ERROR');
      expect(upstream.count('stop')).toBe(4);
    });

    it('answers 502, never 404, when the gateway has no such API (a wrong endpoint or path)', async () => {
      upstream.onStop = {
        status: 404,
        body: { error_code: 'APIG.0101', error_msg: 'The API does not exist or has not been published' },
      };
      const response = await invoke(request());
      expectProblem(response, 502, 'UPSTREAM_ERROR');
      expect(response.body).toMatchObject({ upstream: { status: 404, error_code: 'APIG.0101' } });
    });

    it('answers 502 UPSTREAM_ERROR on network errors', async () => {
      upstream.onStop = { network: 'ECONNREFUSED' };
      expectProblem(await invoke(request()), 502, 'UPSTREAM_ERROR');
    });

    it('answers 502, never 401, when LakeFormation refuses our token even after a refresh', async () => {
      upstream.onStop = {
        status: 401,
        body: { error_code: 'APIG.1002', error_msg: 'Incorrect token or token resolution failed' },
      };

      const response = await invoke(request());

      expectProblem(response, 502, 'UPSTREAM_ERROR');
      expect(upstream.count('iam')).toBe(2);
      const [first, second] = upstream.calls.filter((c) => c.kind === 'stop').map((c) => c.token);
      expect(first).not.toBe(second);
      expect(JSON.stringify(response)).not.toMatch(/token-\d/);
    });

    it('answers 502, never 403, when LakeFormation forbids our credentials', async () => {
      upstream.onStop = {
        status: 403,
        body: { error: { code: '403', message: 'X-Auth-Token is invalid in the request' } },
      };
      expectProblem(await invoke(request()), 502, 'UPSTREAM_ERROR');
    });

    it('answers 504 UPSTREAM_TIMEOUT before the Lambda times out when LakeFormation hangs', async () => {
      upstream.onStop = { hang: true };
      const started = Date.now();

      const response = await invoke(request(), 2_500);

      expectProblem(response, 504, 'UPSTREAM_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(2_500);
    });

    it.each([
      ['an HTML page', { status: 200, body: '<html><body>Welcome to nginx!</body></html>' }],
      [
        'an error JSON',
        { status: 200, body: { error_code: 'common.00000500', error_msg: 'internal error' } },
      ],
      ['invalid JSON', { status: 200, body: '{"accepted": tru' }],
      ['no body', { status: 204 }],
      ['201', { status: 201, body: {} }],
    ])(
      'answers 502 UPSTREAM_ERROR, never 202, when the stop is answered with a 2xx other than 202: %s',
      async (_, answer) => {
        // Prepare
        upstream.onStop = answer;
        // Act
        const response = await invoke(request());
        // Assess
        expectProblem(response, 502, 'UPSTREAM_ERROR');
        expect(response.body.detail).toContain(`HTTP ${answer.status}, not the documented 202`);
        expect(response.body.outcome).toBeUndefined();
      },
    );

    it('answers 502 UPSTREAM_ERROR when the stop answer body is over 1 MiB', async () => {
      upstream.onStop = { status: 202, body: 'x'.repeat(1024 * 1024 + 1) };
      const response = await invoke(request());
      expectProblem(response, 502, 'UPSTREAM_ERROR');
      expect(response.body.detail).toContain('longer than 1048576 bytes');
    });

    it.each([
      [
        'in error_msg (JSON)',
        (token: string) => ({ error_code: 'APIG.0201', error_msg: `bad header X-Auth-Token: ${token}` }),
      ],
      ['in a body that is not JSON', (token: string) => `<pre>X-Auth-Token: ${token}</pre> rejected`],
      ['URL-encoded', (token: string) => ({ error_msg: `token=${encodeURIComponent(token)}` })],
    ])('never passes on this service token when LakeFormation echoes it %s', async (_, echo) => {
      // Prepare
      const logs = captureLogs();
      upstream.onStop = (_jobId, token) => ({ status: 500, body: echo(token ?? '') });
      // Act
      const response = await invoke(request());
      // Assess
      expectProblem(response, 502, 'UPSTREAM_ERROR');
      const tokens = upstream.calls.filter((c) => c.kind === 'stop').map((c) => c.token ?? '');
      expect(tokens.length).toBeGreaterThan(0);
      const seen = JSON.stringify(response) + JSON.stringify(logs.lines);
      for (const token of tokens) expect(seen).not.toContain(token);
      expect(JSON.stringify(response)).toContain('[REDACTED]');
    });

    it('never passes on the token in the 409 detail of a refused stop that echoes it', async () => {
      upstream.onStop = (_jobId, token) => ({
        status: 409,
        body: { error_code: 'LF.0001', error_msg: `frozen; caller ${token}` },
      });
      upstream.onGet = (jobId) => ({ status: 200, body: { id: jobId, status: 'FROZEN_UNRELEASABLE' } });
      const response = await invoke(request());
      expectProblem(response, 409, 'JOB_NOT_STOPPABLE');
      expect(response.body.detail).toContain('(LF.0001: frozen; caller [REDACTED])');
    });

    it('answers 504 when LakeFormation answers 408 every time', async () => {
      upstream.onStop = {
        status: 408,
        body: { error_code: 'common.00000408', error_msg: 'timeout exception occurred' },
      };
      expectProblem(await invoke(request()), 504, 'UPSTREAM_TIMEOUT');
    });
  });

  describe('caller authentication', () => {
    it.each(KEYS.hmacKeys)('accepts a fresh signature made with %s (rotation)', async (key) => {
      const response = await invoke(signed(httpEvent('http-stop-job-signed'), key));
      expect(response.statusCode).toBe(202);
    });

    it.each(KEYS.bearerTokens)('accepts the bearer token %s', async (token) => {
      const response = await invoke(withBearer(httpEvent('http-stop-job-bearer'), token));
      expect(response.statusCode).toBe(202);
    });

    it('accepts a signed empty body: naming the job is required only with WEBHOOK_SIGNED_JOB_REQUIRED', async () => {
      const event = httpEvent('http-stop-job-signed');
      event.body = undefined;
      const response = await invoke(signed(event, 'hmac-key-new'));
      expect(response.statusCode).toBe(202);
    });

    it('checks the signature over the base64-decoded body', async () => {
      const response = await invoke(signed(httpEvent('http-stop-job-base64'), 'hmac-key-new'));
      expect(response.statusCode).toBe(202);
    });

    const now = () => Math.floor(Date.now() / 1000);
    it.each([
      ['no credentials at all', () => httpEvent('http-stop-job-unsigned')],
      ['an unknown bearer token', () => withBearer(httpEvent('http-stop-job-bearer'), 'bearer-token-3')],
      ['a signature by an unknown key', () => signed(httpEvent('http-stop-job-signed'), 'not-a-key')],
      ['a signature 301 s old', () => signed(httpEvent('http-stop-job-signed'), 'hmac-key-new', now() - 301)],
      [
        'a signature 301 s in the future',
        () => signed(httpEvent('http-stop-job-signed'), 'hmac-key-new', now() + 301),
      ],
      ['the sample event’s expired signature', () => httpEvent('http-stop-job-signed')],
      [
        'a signature over another body',
        () => ({
          ...signed(httpEvent('http-stop-job-signed'), 'hmac-key-new'),
          body: '{"reason":"tampered"}',
        }),
      ],
      [
        'a timestamp without signature',
        () => {
          const event = signed(httpEvent('http-stop-job-signed'), 'hmac-key-new');
          delete event.headers['x-signature'];
          return event;
        },
      ],
      [
        'a signature without timestamp',
        () => {
          const event = signed(httpEvent('http-stop-job-signed'), 'hmac-key-new');
          delete event.headers['x-timestamp'];
          return event;
        },
      ],
      [
        'a malformed signature',
        () => {
          const event = signed(httpEvent('http-stop-job-signed'), 'hmac-key-new');
          event.headers['x-signature'] = 'md5=abc';
          return event;
        },
      ],
    ])('answers 401 UNAUTHENTICATED to %s, with no LakeFormation or IAM call', async (_name, make) => {
      const response = await invoke(make() as StopJobEvent);

      expectProblem(response, 401, 'UNAUTHENTICATED');
      expect(response.headers['WWW-Authenticate']).toBeDefined();
      expect(upstream.calls).toHaveLength(0);
    });

    it.each([
      ['a malformed job id', () => forJob(httpEvent('http-stop-job-unsigned'), '../etc')],
      ['an instance not allowed', () => forJob(httpEvent('http-stop-job-unsigned'), JOB, 'ffffffff-0000')],
      [
        'a body that is not JSON',
        () => ({ ...httpEvent('http-stop-job-unsigned'), body: '{"reason": ' }) as StopJobEvent,
      ],
    ])(
      'answers 401, not what is wrong with the request, to an unauthenticated caller with %s',
      async (_name, make) => {
        expectProblem(await invoke(make()), 401, 'UNAUTHENTICATED');
      },
    );

    it('makes a signed body that names its job useless against any other job', async () => {
      const bound = forJob(
        signed(
          { ...httpEvent('http-stop-job-signed'), body: JSON.stringify({ jobId: JOB }) },
          'hmac-key-new',
        ),
        JOB,
      );
      // the signature covers the body, not the path: the same headers and body sent to another job's path
      const replayed = { ...bound, pathParameters: { jobId: OTHER_JOB }, rawPath: `/jobs/${OTHER_JOB}/stop` };

      expectProblem(await invoke(replayed), 400, 'INVALID_REQUEST');
      expect(upstream.calls).toHaveLength(0);
      expect((await invoke(bound)).statusCode).toBe(202);
    });

    it('accepts a signature written in upper-case hex', async () => {
      const event = signed(httpEvent('http-stop-job-signed'), 'hmac-key-new');
      const sent = event.headers['x-signature'] as string;
      event.headers['x-signature'] = `sha256=${sent.slice('sha256='.length).toUpperCase()}`;
      expect(event.headers['x-signature']).toMatch(/^sha256=[0-9A-F]{64}$/);
      expect((await invoke(event)).statusCode).toBe(202);
    });

    it.each(['bearer', 'BEARER'])('accepts the authorization scheme written %s', async (scheme) => {
      const event = withBearer(httpEvent('http-stop-job-bearer'), 'bearer-token-2');
      event.headers.authorization = `${scheme} bearer-token-2`;
      expect((await invoke(event)).statusCode).toBe(202);
    });

    it('accepts signature headers in any case (header normalisation)', async () => {
      const event = signed(httpEvent('http-stop-job-signed'), 'hmac-key-old');
      event.headers = Object.fromEntries(
        Object.entries(event.headers).map(([key, value]) => [
          key
            .replace(/(^|-)x/g, '$1X')
            .replace('-s', '-S')
            .replace('-t', '-T'),
          value,
        ]),
      );
      expect(Object.keys(event.headers)).toContain('X-Signature');
      expect((await invoke(event)).statusCode).toBe(202);
    });
  });

  describe('input validation', () => {
    it.each([
      ['..', 'jobId'],
      ['a/b', 'jobId'],
      ['job 1', 'jobId'],
      ['a'.repeat(65), 'jobId'],
      ['%2e%2e', 'jobId'],
    ])('answers 400 INVALID_REQUEST for the job id %j, with no LakeFormation call', async (jobId, field) => {
      const response = await invoke(request(jobId));
      expectProblem(response, 400, 'INVALID_REQUEST');
      expect(response.body.field).toBe(field);
      expect(upstream.calls).toHaveLength(0);
    });

    it('answers 400 for a malformed instance id even when it is not allowed (validation first)', async () => {
      const response = await invoke(request(JOB, '../etc'));
      expectProblem(response, 400, 'INVALID_REQUEST');
      expect(response.body.field).toBe('instanceId');
    });

    it('answers 403 INSTANCE_NOT_ALLOWED for a well-formed instance that is not listed', async () => {
      const response = await invoke(request(JOB, 'ffffffff-0000-4000-8000-000000000000'));
      expectProblem(response, 403, 'INSTANCE_NOT_ALLOWED');
      expect(upstream.calls).toHaveLength(0);
    });

    it('answers 413 PAYLOAD_TOO_LARGE for a body over 16 KiB', async () => {
      const event = request();
      event.body = JSON.stringify({ reason: 'x'.repeat(17 * 1024) });
      expectProblem(await invoke(event), 413, 'PAYLOAD_TOO_LARGE');
    });

    it.each([
      ['characters outside the alphabet', '@@@@'],
      ['a length no encoder writes (4n + 1)', 'eyJhY'],
      ['padding in the middle', 'e30=e30='],
      ['base64url', 'eyJyZWFzb24iOiI-In0'],
    ])(
      'answers 400 INVALID_REQUEST, and stops nothing, for a base64 body that is not base64: %s',
      async (_, body) => {
        // Prepare
        const event = request();
        event.isBase64Encoded = true;
        event.body = body;
        // Act
        const response = await invoke(event);
        // Assess
        expectProblem(response, 400, 'INVALID_REQUEST');
        expect(response.body.detail).toContain('not valid base64');
        expect(upstream.count('stop')).toBe(0);
      },
    );

    it('accepts base64 with and without padding', async () => {
      for (const body of ['e30=', 'e30', Buffer.from('{"reason":"ok"}').toString('base64')]) {
        const event = request();
        event.isBase64Encoded = true;
        event.body = body;
        expect((await invoke(event)).statusCode).toBe(202);
      }
    });

    it('answers 413 for a base64 body that decodes to over 16 KiB', async () => {
      const event = request();
      event.body = Buffer.alloc(16 * 1024 + 1, 'a').toString('base64');
      event.isBase64Encoded = true;
      expectProblem(await invoke(event), 413, 'PAYLOAD_TOO_LARGE');
    });

    it('accepts a body of exactly 16 KiB up to the reason check', async () => {
      const event = request();
      event.body = `{"reason":"x"}${' '.repeat(16 * 1024 - 14)}`;
      expect((await invoke(event)).statusCode).toBe(202);
    });

    it('answers 415 UNSUPPORTED_MEDIA_TYPE for a form body', async () => {
      const event = request();
      event.headers['content-type'] = 'application/x-www-form-urlencoded';
      event.body = 'reason=because';
      expectProblem(await invoke(event), 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it.each([
      ['not JSON', '{"reason": '],
      ['an array', '["reason"]'],
      ['null', 'null'],
      ['an unknown field', '{"reasn": "typo"}'],
      ['a reason that is not a string', '{"reason": 42}'],
      ['a reason over 256 characters', JSON.stringify({ reason: 'r'.repeat(257) })],
      ['a runStartedAt that is not a timestamp', '{"runStartedAt": "yesterday"}'],
      ['a runStartedAt in epoch milliseconds', '{"runStartedAt": 1779876275743}'],
      ['a runStartedAt of 30 February', '{"runStartedAt": "2026-02-30T10:00:00Z"}'],
    ])('answers 400 INVALID_REQUEST for a body that is %s', async (_name, body) => {
      const event = request();
      event.body = body;
      expectProblem(await invoke(event), 400, 'INVALID_REQUEST');
      expect(upstream.calls).toHaveLength(0);
    });

    it('accepts an empty body, no content type and queryStringParameters: null (serverless-offline)', async () => {
      const event = request();
      event.body = undefined;
      delete event.headers['content-type'];
      (event as { queryStringParameters?: unknown }).queryStringParameters = null;
      expect((await invoke(event)).statusCode).toBe(202);
    });

    it('counts the reason in characters, as the OpenAPI maxLength does: 256 emoji pass, 257 do not', async () => {
      const event = request();
      event.body = JSON.stringify({ reason: '🛑'.repeat(256) });
      expect((await invoke(event)).statusCode).toBe(202);
      event.body = JSON.stringify({ reason: '🛑'.repeat(257) });
      expectProblem(await invoke(event), 400, 'INVALID_REQUEST');
    });

    it('accepts a body that names the job and the instance of its path', async () => {
      const event = request(JOB, OTHER);
      event.body = JSON.stringify({ jobId: JOB, instanceId: OTHER, reason: 'bound' });
      expect((await invoke(event)).statusCode).toBe(202);
      const onDefault = request(JOB);
      onDefault.body = JSON.stringify({ jobId: JOB, instanceId: INSTANCE });
      expect((await invoke(onDefault)).statusCode).toBe(202);
    });

    it.each([
      ['another job', JOB, undefined, { jobId: OTHER_JOB }, 'jobId'],
      ['a job id that is not a string', JOB, undefined, { jobId: 42 }, 'jobId'],
      ['another instance', JOB, OTHER, { instanceId: INSTANCE }, 'instanceId'],
      ['an instance on the default route', JOB, undefined, { instanceId: OTHER }, 'instanceId'],
    ])(
      'answers 400, with no LakeFormation call, to a body naming %s than the path',
      async (_name, jobId, instanceId, body, field) => {
        const event = request(jobId, instanceId);
        event.body = JSON.stringify(body);
        const response = await invoke(event);
        expectProblem(response, 400, 'INVALID_REQUEST');
        expect(response.body.field).toBe(field);
        expect(upstream.calls).toHaveLength(0);
      },
    );

    it('accepts an empty body whatever its content type: there is nothing to misread', async () => {
      const event = request();
      event.headers['content-type'] = 'text/plain';
      event.body = '';
      expect((await invoke(event)).statusCode).toBe(202);
    });

    it('accepts application/json with a charset', async () => {
      const event = request();
      event.headers['content-type'] = 'application/json; charset=utf-8';
      expect((await invoke(event)).statusCode).toBe(202);
    });
  });

  describe('warm invocations', () => {
    it('reuses one IAM token and one read of the caller keys across five invocations', async () => {
      for (let i = 0; i < 5; i++) expect((await invoke(request())).statusCode).toBe(202);

      expect(upstream.count('iam')).toBe(1);
      expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    });
  });

  describe('cold container', () => {
    it('reads the caller keys once for 200 concurrent requests (single flight)', async () => {
      // Prepare: beforeEach left the secrets cache empty
      // Act
      const responses = await Promise.all(Array.from({ length: 200 }, () => invoke(request())));
      // Assess
      expect(responses.every((response) => response.statusCode === 202)).toBe(true);
      expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    });

    it('reads the caller keys again after a read that failed', async () => {
      secretsManager.reset();
      secretsManager
        .on(GetSecretValueCommand)
        .rejectsOnce(Object.assign(new Error('boom'), { name: 'ThrottlingException' }))
        .resolves({ SecretString: JSON.stringify(KEYS) });

      const [first, second] = [await invoke(request()), await invoke(request())];

      expect([first.statusCode, second.statusCode]).toEqual([500, 202]);
      expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    });
  });

  describe('failing dependencies', () => {
    it('answers 500 INTERNAL_ERROR, without detail, when the caller keys cannot be read', async () => {
      secretsManager.reset();
      secretsManager
        .on(GetSecretValueCommand)
        .rejects(Object.assign(new Error('boom'), { name: 'AccessDeniedException' }));

      const response = await invoke(request());

      expectProblem(response, 500, 'INTERNAL_ERROR');
      expect(upstream.calls).toHaveLength(0);
    });
  });

  describe('metrics', () => {
    const notRunning = () => {
      upstream.onStop = { status: 400, body: { error_code: 'common.01000001', error_msg: 'x' } };
      upstream.onGet = (jobId: string) => ({ status: 200, body: { id: jobId, status: 'STOPPED' } });
    };
    it.each([
      ['an accepted stop', () => {}, request, { StopRequested: 1 }],
      ['a job that is not running', notRunning, request, { NotRunning: 1 }],
      [
        'an unknown job',
        () => {
          upstream.onStop = { status: 404, body: { error_code: 'common.01000001', error_msg: 'not found' } };
        },
        request,
        { NotFound: 1 },
      ],
      [
        'an unauthenticated request',
        () => {},
        () => forJob(httpEvent('http-stop-job-unsigned'), JOB),
        { RequestRejected: 1 },
      ],
      [
        'LakeFormation failing',
        () => {
          upstream.onStop = { network: 'ECONNREFUSED' };
        },
        request,
        { RetryableFailure: 1 },
      ],
      [
        'unreadable caller keys',
        () => {
          secretsManager.reset();
          secretsManager.on(GetSecretValueCommand).rejects(new Error('boom'));
        },
        request,
        { InternalError: 1 },
      ],
    ] as const)('publishes one EMF count for %s', async (_name, arrange, event, expected) => {
      arrange();
      const logs = captureLogs();

      await invoke(event());

      expect(emfTotals(logs.lines)).toEqual(expected);
    });
  });
});
