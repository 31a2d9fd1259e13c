import { beforeEach, describe, expect, it } from 'vitest';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import { forJob, httpEvent, parse, signed, withBearer } from '../support/http.js';
import { registerSecret } from '../support/logs.js';
import { offlineStopJob } from '../support/stop-job-offline.js';

const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const JOB = '03141229-84cd-4b1b-9733-dd124320c125';
const KEYS = { hmacKeys: ['hmac-key-bound'], bearerTokens: ['bearer-token-bound'] };
registerSecret(...KEYS.hmacKeys, ...KEYS.bearerTokens, 'bound-password');

const { upstream, invoke } = offlineStopJob({
  instanceId: INSTANCE,
  allowedInstanceIds: '',
  password: 'bound-password',
  keys: KEYS,
  env: { WEBHOOK_SIGNED_JOB_REQUIRED: 'true' },
});

beforeEach(() => {
  upstream.calls.length = 0;
});

/** A signed request for JOB with `body`. */
function signedRequest(body: string | undefined): StopJobEvent {
  const event = forJob(httpEvent('http-stop-job-signed'), JOB);
  event.body = body;
  return signed(event, 'hmac-key-bound');
}

describe('stop-job with WEBHOOK_SIGNED_JOB_REQUIRED=true', () => {
  it.each([
    ['an empty body', undefined],
    ['a body with a reason only', '{"reason": "replayable"}'],
    ['a body naming only the instance', `{"instanceId": "${INSTANCE}"}`],
  ])('refuses a signed request with %s: 400 on jobId, and no LakeFormation call', async (_name, body) => {
    const response = parse(await invoke(signedRequest(body)));

    expect(response.statusCode).toBe(400);
    expect(response.body).toMatchObject({ code: 'INVALID_REQUEST', field: 'jobId' });
    expect(response.body.detail).toContain('a signed body must name the jobId');
    expect(upstream.calls).toHaveLength(0);
  });

  it('stops the job when the signed body names it', async () => {
    const response = parse(await invoke(signedRequest(JSON.stringify({ jobId: JOB, reason: 'bound' }))));
    expect(response.statusCode).toBe(202);
    expect(upstream.count('stop')).toBe(1);
  });

  it('still refuses a signed body that names another job than the path (the binding itself)', async () => {
    const response = parse(await invoke(signedRequest(JSON.stringify({ jobId: `${JOB.slice(0, -1)}0` }))));
    expect(response.statusCode).toBe(400);
    expect(upstream.count('stop')).toBe(0);
  });

  it('refuses a signed body naming only its job on a path that names the instance: 400 on instanceId', async () => {
    // Prepare: what a body signed for the default route would be, replayed to an instance's route
    const event = forJob(httpEvent('http-stop-job-signed'), JOB, INSTANCE);
    event.body = JSON.stringify({ jobId: JOB });
    // Act
    const response = parse(await invoke(signed(event, 'hmac-key-bound')));
    // Assess
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatchObject({ code: 'INVALID_REQUEST', field: 'instanceId' });
    expect(upstream.calls).toHaveLength(0);
  });

  it('stops the job on an instance route when the signed body names the job and that instance', async () => {
    const event = forJob(httpEvent('http-stop-job-signed'), JOB, INSTANCE);
    event.body = JSON.stringify({ jobId: JOB, instanceId: INSTANCE });
    const response = parse(await invoke(signed(event, 'hmac-key-bound')));
    expect(response.statusCode).toBe(202);
    expect(upstream.count('stop')).toBe(1);
  });

  it('leaves bearer callers as they are: their token is not bound to a request', async () => {
    const event = withBearer(forJob(httpEvent('http-stop-job-bearer'), JOB), 'bearer-token-bound');
    event.body = undefined;
    expect(parse(await invoke(event)).statusCode).toBe(202);
  });
});
