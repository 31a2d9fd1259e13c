import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { forJob, httpEvent, parse, withBearer } from '../support/http.js';
import { registerSecret } from '../support/logs.js';
import { offlineStopJob } from '../support/stop-job-offline.js';

const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const JOB = '03141229-84cd-4b1b-9733-dd124320c125';
const CREDENTIALS_SECRET = 'huaweicloud-credentials';
const KEYS = { hmacKeys: [], bearerTokens: ['bearer-token-1'] };
const CREDENTIALS = { userName: 'stopper', password: 'secret-password', domainName: 'acme' };
registerSecret('bearer-token-1', CREDENTIALS.password);

const { secretsManager, upstream, invoke } = offlineStopJob({
  instanceId: INSTANCE,
  allowedInstanceIds: '',
  password: 'not-used',
  keys: KEYS,
  env: { HUAWEICLOUD_CREDENTIALS_SECRET_ID: CREDENTIALS_SECRET },
});

/** The order in which the two secrets' reads start and end. */
let reads: string[] = [];
/** Holds the caller keys' read until released. */
let releaseKeys: () => void = () => {};

beforeEach(() => {
  upstream.calls.length = 0;
  reads = [];
  const keysGate = new Promise<void>((resolve) => {
    releaseKeys = resolve;
  });
  secretsManager.on(GetSecretValueCommand, { SecretId: 'webhook-keys' }).callsFake(async () => {
    reads.push('keys:start');
    await keysGate;
    reads.push('keys:end');
    return { SecretString: JSON.stringify(KEYS) };
  });
  secretsManager.on(GetSecretValueCommand, { SecretId: CREDENTIALS_SECRET }).callsFake(async () => {
    reads.push('credentials:start');
    return { SecretString: JSON.stringify(CREDENTIALS) };
  });
});

afterEach(() => {
  vi.useRealTimers();
});

function request(bearer = 'bearer-token-1') {
  return forJob(withBearer(httpEvent('http-stop-job-bearer'), bearer), JOB);
}

function readsOf(secretId: string) {
  return secretsManager
    .commandCalls(GetSecretValueCommand)
    .filter((call) => call.args[0].input.SecretId === secretId).length;
}

describe('Function: stop-job handler, credentials from Secrets Manager', () => {
  it('reads the IAM credentials of a cold container while it reads the caller keys', async () => {
    const response = invoke(request());

    await vi.waitFor(() => expect(reads).toContain('credentials:start'));
    const beforeKeysArrived = [...reads];
    releaseKeys();

    expect(parse(await response).statusCode).toBe(202);
    expect(beforeKeysArrived).toEqual(expect.arrayContaining(['keys:start', 'credentials:start']));
    expect(beforeKeysArrived).not.toContain('keys:end');
    expect(readsOf(CREDENTIALS_SECRET)).toBe(1);
    expect(upstream.count('iam')).toBe(1);
  });

  it('makes no IAM or LakeFormation call for a rejected caller, and reads the credentials once', async () => {
    releaseKeys();

    const rejected = parse(await invoke(request('wrong-token')));
    const callsAfterRejection = upstream.calls.length;
    const accepted = parse(await invoke(request()));

    expect(rejected.statusCode).toBe(401);
    expect(callsAfterRejection).toBe(0);
    expect(accepted.statusCode).toBe(202);
    expect(readsOf(CREDENTIALS_SECRET)).toBe(1);
    expect(upstream.count('iam')).toBe(1);
  });

  it('leaves the credentials unread while the cached token is good, past their cache time', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    releaseKeys();
    await invoke(request());

    vi.setSystemTime(Date.now() + 10 * 60_000); // both secrets' 5-minute cache has expired
    const response = parse(await invoke(request()));

    expect(response.statusCode).toBe(202);
    expect(readsOf('webhook-keys')).toBe(2);
    expect(readsOf(CREDENTIALS_SECRET)).toBe(1);
    expect(upstream.count('iam')).toBe(1);
  });
});
