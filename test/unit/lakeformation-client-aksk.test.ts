import { afterEach, describe, expect, it } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import { classifyFailure } from '../../lib/domain/failures.js';
import type { Credentials, CredentialsLoader } from '../../lib/upstream/huawei/credentials.js';
import {
  clockSkewOf,
  createCredentialsAuthorizer,
} from '../../lib/upstream/huawei/credentials-authorizer.js';
import { ClockSkewError, CredentialsRejectedError } from '../../lib/upstream/huawei/errors.js';
import { sdkDate } from '../../lib/upstream/huawei/signer.js';
import { createTokenProvider } from '../../lib/upstream/huawei/token-provider.js';
import { createLakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import { LakeFormationHttpError } from '../../lib/upstream/lakeformation/errors.js';
import { verifySignature } from '../../local/emulator/signature.js';
import { type FakeAnswer, type FakeCall, fakeFetch } from '../support/fake-fetch.js';
import { captureLogs, registerSecret } from '../support/logs.js';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const JOB = '03141229-84cd-4b1b-9733-dd124320c125';
const REF = { instanceId: INSTANCE, jobId: JOB };
const ENDPOINT = 'https://lakeformation.cn-north-4.myhuaweicloud.com';
const IAM = 'https://iam.cn-north-4.myhuaweicloud.com';
const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);

const KEY: Credentials = { kind: 'aksk', accessKey: 'HPUAUNITKEY0001', secretKey: 'unit-aksk-secret-key-1' };
const ROTATED: Credentials = {
  kind: 'aksk',
  accessKey: 'HPUAUNITKEY0002',
  secretKey: 'unit-aksk-secret-key-2',
};
const TEMPORARY: Credentials = {
  kind: 'aksk',
  accessKey: 'HPUATEMPKEY0001',
  secretKey: 'unit-aksk-temporary-secret',
  securityToken: 'unit-aksk-security-token-ggg',
};
const PASSWORD: Credentials = {
  kind: 'password',
  userName: 'stopper',
  password: 'unit-aksk-password',
  domainName: 'acme',
};
registerSecret(
  'unit-aksk-secret-key-1',
  'unit-aksk-secret-key-2',
  'unit-aksk-temporary-secret',
  'unit-aksk-security-token-ggg',
  'unit-aksk-password',
);

const REFUSED: FakeAnswer = {
  status: 401,
  body: {
    error_code: 'APIG.0301',
    error_msg: 'Incorrect IAM authentication information: verify aksk signature fail',
  },
};

/** A credentials secret whose value is `values[n]`; `invalidate` moves on to the next (a rotation picked up). */
function secret(...values: Credentials[]) {
  const state = { loads: 0, invalidations: 0, index: 0 };
  const loader: CredentialsLoader = {
    async load() {
      state.loads += 1;
      return values[state.index] as Credentials;
    },
    invalidate() {
      state.invalidations += 1;
      state.index = Math.min(state.index + 1, values.length - 1);
    },
  };
  return Object.assign(loader, {
    state,
    /** The secret changes without anyone invalidating it. */
    rotate() {
      state.index = Math.min(state.index + 1, values.length - 1);
    },
  });
}

function setup(answers: FakeAnswer[], credentials = secret(KEY)) {
  const fetch = fakeFetch(answers);
  const clock = { now: NOW };
  const timing = { now: () => clock.now, sleep: async () => {}, random: () => 0 };
  // IAM and LakeFormation share the fake: an IAM request would be seen in its calls
  const tokens = createTokenProvider({ iamEndpoint: IAM, projectId: PROJECT, credentials, fetch, timing });
  const authorizer = createCredentialsAuthorizer({
    credentials,
    tokens,
    projectId: PROJECT,
    now: () => clock.now,
  });
  const client = createLakeFormationClient({
    endpoint: ENDPOINT,
    projectId: PROJECT,
    authorizer,
    fetch,
    timing,
  });
  return { client, fetch, credentials, authorizer, clock };
}

/** The emulator's verifier (written apart from the signer) on a recorded call. */
function verify(call: FakeCall | undefined, key: Credentials, now = NOW) {
  const url = new URL(call?.url ?? '');
  return verifySignature({
    method: call?.method ?? '',
    path: url.pathname,
    query: url.search,
    headers: { ...call?.headers, host: url.host },
    secretKeyFor: (accessKey) =>
      key.kind === 'aksk' && accessKey === key.accessKey ? key.secretKey : undefined,
    now: new Date(now),
  });
}

const iamCalls = (calls: FakeCall[]) => calls.filter((call) => call.url.includes('/v3/auth/tokens'));
const accessOf = (call: FakeCall | undefined) =>
  /Access=([^,]+),/.exec(call?.headers.authorization ?? '')?.[1];

afterEach(() => resetContainer());

describe('Function: createLakeFormationClient() with an access key', () => {
  it('signs every call (stop, read, list) and makes no IAM request', async () => {
    const { client, fetch, credentials } = setup([
      { status: 202 },
      { status: 200, body: { id: JOB, name: 'job', type: 'METADATA_MIGRATION', status: 'RUNNING' } },
      { status: 200, body: { total: 0, jobs: [] } },
    ]);

    await client.stopJob(REF);
    await client.getJob(REF);
    await client.listJobs({ instanceId: INSTANCE, type: 'METADATA_MIGRATION', namePattern: 'nightly run*' });

    expect(fetch.calls).toHaveLength(3);
    expect(iamCalls(fetch.calls)).toEqual([]);
    for (const call of fetch.calls) {
      expect(call.headers).toMatchObject({
        'x-sdk-date': sdkDate(new Date(NOW)),
        'x-project-id': PROJECT,
        'user-agent': 'lf-job-stopper',
      });
      expect(call.headers.authorization).toMatch(
        /^SDK-HMAC-SHA256 Access=HPUAUNITKEY0001, SignedHeaders=host;x-project-id;x-sdk-date, Signature=[0-9a-f]{64}$/,
      );
      expect(call.headers).not.toHaveProperty('x-auth-token');
      expect(call.headers).not.toHaveProperty('x-security-token');
      expect(verify(call, KEY)).toMatchObject({ ok: true, accessKey: KEY.accessKey, projectId: PROJECT });
    }
    // the key is held: one read of the secret for all three calls
    expect(credentials.state.loads).toBe(1);
  });

  it('sends and signs X-Security-Token for temporary credentials', async () => {
    const { client, fetch } = setup([{ status: 202 }], secret(TEMPORARY));

    await client.stopJob(REF);

    const call = fetch.calls[0];
    expect(call?.headers['x-security-token']).toBe('unit-aksk-security-token-ggg');
    expect(call?.headers.authorization).toContain(
      'SignedHeaders=host;x-project-id;x-sdk-date;x-security-token,',
    );
    expect(verify(call, TEMPORARY)).toMatchObject({
      ok: true,
      securityToken: 'unit-aksk-security-token-ggg',
    });
  });

  it('signs at the time of each request', async () => {
    const { client, fetch, clock } = setup([{ status: 202 }, { status: 202 }]);

    await client.stopJob(REF);
    clock.now += 61_000;
    await client.stopJob(REF);

    expect(fetch.calls.map((call) => call.headers['x-sdk-date'])).toEqual([
      '20261128T120000Z',
      '20261128T120101Z',
    ]);
  });

  it('on a refused signature reads the secret again and repeats the request once, signed with the new key', async () => {
    const { client, fetch, credentials } = setup([REFUSED, { status: 202 }], secret(KEY, ROTATED));

    await client.stopJob(REF);

    expect(credentials.state.invalidations).toBe(1);
    expect(credentials.state.loads).toBe(2);
    expect(fetch.calls.map(accessOf)).toEqual(['HPUAUNITKEY0001', 'HPUAUNITKEY0002']);
    expect(verify(fetch.calls[1], ROTATED)).toMatchObject({ ok: true });
    expect(iamCalls(fetch.calls)).toEqual([]);
  });

  it.each(['00000015', 'lakeformation.00000021'])(
    'treats an invalid-token 400 %s like a 401: one new read and one more try',
    async (code) => {
      const { client, fetch, credentials } = setup(
        [{ status: 400, body: { error_code: code, error_msg: 'invalid token' } }, { status: 202 }],
        secret(KEY, ROTATED),
      );
      await client.stopJob(REF);
      expect(credentials.state.invalidations).toBe(1);
      expect(fetch.calls.map(accessOf)).toEqual(['HPUAUNITKEY0001', 'HPUAUNITKEY0002']);
    },
  );

  it('reports a signature refused twice as rejected credentials: HTTP 502 UPSTREAM_ERROR, retried from the queue', async () => {
    const { client, fetch, credentials } = setup([REFUSED, REFUSED, { status: 202 }]);

    const error = await client.stopJob(REF).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CredentialsRejectedError);
    expect(error).not.toBeInstanceOf(ClockSkewError);
    expect((error as Error).message).toBe(
      'LakeFormation refused the AK/SK signature, also after the credentials were read again (HTTP 401 APIG.0301: Incorrect IAM authentication information: verify aksk signature fail)',
    );
    expect(fetch.calls).toHaveLength(2);
    expect(credentials.state.invalidations).toBe(1);
    expect(classifyFailure(error)).toMatchObject({ kind: 'CREDENTIALS_REJECTED', httpStatus: 502 });
  });

  it('shares one new read between requests refused together', async () => {
    const { client, fetch, credentials } = setup(
      [REFUSED, REFUSED, { status: 202 }, { status: 202 }],
      secret(KEY, ROTATED),
    );

    await Promise.all([client.stopJob(REF), client.stopJob({ ...REF, jobId: 'other-job' })]);

    expect(credentials.state.invalidations).toBe(1);
    expect(fetch.calls.map(accessOf)).toEqual([
      'HPUAUNITKEY0001',
      'HPUAUNITKEY0001',
      'HPUAUNITKEY0002',
      'HPUAUNITKEY0002',
    ]);
  });

  it('does not re-read the secret for another 4xx', async () => {
    const { client, credentials } = setup([
      { status: 403, body: { error_code: '403', error_msg: 'Forbidden' } },
    ]);
    await expect(client.stopJob(REF)).rejects.toBeInstanceOf(LakeFormationHttpError);
    expect(credentials.state.invalidations).toBe(0);
  });

  describe('a clock more than 15 minutes off', () => {
    it("says by how much when the refusal's Date is more than 15 min from this host's clock, without a retry", async () => {
      const logs = captureLogs();
      const gateway = new Date(NOW + 20 * 60_000 + 20_000).toUTCString();
      const { client, fetch, credentials } = setup([
        { ...REFUSED, headers: { Date: gateway } },
        { ...REFUSED, headers: { Date: gateway } },
      ]);

      const first = await client.stopJob(REF).catch((e: unknown) => e);
      const second = await client.getJob(REF).catch((e: unknown) => e);

      expect(first).toBeInstanceOf(ClockSkewError);
      expect((first as Error).message).toBe(
        "this host's clock is 20 min off LakeFormation's; signed requests more than 15 minutes off are refused",
      );
      expect(second).toBeInstanceOf(ClockSkewError);
      expect(fetch.calls).toHaveLength(2);
      expect(credentials.state.invalidations).toBe(0);
      expect(classifyFailure(first)).toMatchObject({
        kind: 'CREDENTIALS_REJECTED',
        httpStatus: 502,
        detail:
          "this host's clock is 20 min off LakeFormation's; signed requests more than 15 minutes off are refused",
      });
      // logged once, with the figure and nothing of the request
      const warnings = logs.lines.filter((line) => String(line.message).includes("this host's clock"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 'WARN', clockSkewMinutes: 20 });
    });

    it('reads a clock behind the gateway the same way', async () => {
      const { client } = setup([
        { ...REFUSED, headers: { Date: new Date(NOW - 40 * 60_000).toUTCString() } },
      ]);
      await expect(client.stopJob(REF)).rejects.toThrow("this host's clock is 40 min off LakeFormation's");
    });

    it('believes a refusal that says the date is off even without a Date header', async () => {
      const { client, fetch } = setup([
        {
          status: 401,
          body: {
            error_code: 'APIG.0301',
            error_msg:
              'Incorrect IAM authentication information: signature expired: X-Sdk-Date 20261128T120000Z is 31 minutes behind server time 20261128T123100Z, more than the 15 minutes allowed',
          },
        },
      ]);

      const error = await client.stopJob(REF).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ClockSkewError);
      expect((error as Error).message).toBe(
        "this host's clock is more than 15 min off LakeFormation's; signed requests more than 15 minutes off are refused",
      );
      expect(fetch.calls).toHaveLength(1);
    });

    it('takes a refusal with a Date within 15 minutes for a refused key', async () => {
      const gateway = new Date(NOW + 14 * 60_000).toUTCString();
      const { client, credentials } = setup(
        [{ ...REFUSED, headers: { Date: gateway } }, { status: 202 }],
        secret(KEY, ROTATED),
      );
      await client.stopJob(REF);
      expect(credentials.state.invalidations).toBe(1);
    });
  });

  describe('redaction', () => {
    it('keeps the secret key, the signature, the security token and the signature input out of the error', async () => {
      // a gateway that quotes everything it was sent back
      const echo = (call: () => FakeCall | undefined): FakeAnswer => ({
        status: 401,
        body: {
          error_code: 'APIG.0301',
          get error_msg() {
            const headers = call()?.headers ?? {};
            return `verify aksk signature fail, canonicalRequest:GET|/v1/|x-security-token:${headers['x-security-token']}|x-sdk-date:${headers['x-sdk-date']} sk=unit-aksk-temporary-secret auth=${headers.authorization}`;
          },
        },
      });
      const seen: { calls: FakeCall[] } = { calls: [] };
      const { client, fetch } = setup(
        [echo(() => seen.calls[0]), echo(() => seen.calls[1])],
        secret(TEMPORARY),
      );
      seen.calls = fetch.calls;

      const error = await client.getJob(REF).catch((e: unknown) => e);
      const text =
        JSON.stringify(error, Object.getOwnPropertyNames(error)) +
        JSON.stringify((error as Error).cause ?? '');

      expect(error).toBeInstanceOf(CredentialsRejectedError);
      const signatures = fetch.calls.map(
        (call) => /Signature=([0-9a-f]{64})/.exec(call.headers.authorization ?? '')?.[1],
      );
      expect(signatures).toHaveLength(2);
      for (const secretText of [
        'unit-aksk-temporary-secret',
        'unit-aksk-security-token-ggg',
        ...signatures,
      ]) {
        expect(text).not.toContain(secretText);
      }
    });
  });

  describe('credentials of the token kinds, through the same authorizer', () => {
    it('sends an IAM token in X-Auth-Token for password credentials, unsigned', async () => {
      const { client, fetch } = setup(
        [
          {
            status: 201,
            headers: { 'X-Subject-Token': 'unit-aksk-iam-token' },
            body: {
              token: { expires_at: '2026-11-29T12:00:00.000000Z', issued_at: '2026-11-28T12:00:00.000000Z' },
            },
          },
          { status: 202 },
          { status: 202 },
        ],
        secret(PASSWORD),
      );

      await client.stopJob(REF);
      await client.stopJob(REF);

      expect(iamCalls(fetch.calls)).toHaveLength(1);
      const stops = fetch.calls.filter((call) => call.url.startsWith(ENDPOINT));
      expect(stops.map((call) => call.headers['x-auth-token'])).toEqual([
        'unit-aksk-iam-token',
        'unit-aksk-iam-token',
      ]);
      for (const call of stops) {
        expect(call.headers).not.toHaveProperty('authorization');
        expect(call.headers).not.toHaveProperty('x-sdk-date');
      }
    });

    it('switches to signing when the secret is rotated from a password to an access key', async () => {
      const credentials = secret(PASSWORD, KEY);
      const { client, fetch } = setup(
        [
          {
            status: 201,
            headers: { 'X-Subject-Token': 'unit-aksk-iam-token' },
            body: {
              token: { expires_at: '2026-11-29T12:00:00.000000Z', issued_at: '2026-11-28T12:00:00.000000Z' },
            },
          },
          { status: 202 },
          {
            status: 401,
            body: { error_code: 'APIG.1002', error_msg: 'Incorrect token or token resolution failed' },
          },
          { status: 202 },
        ],
        credentials,
      );
      await client.stopJob(REF);

      credentials.rotate();
      await client.stopJob(REF);

      expect(iamCalls(fetch.calls)).toHaveLength(1);
      const last = fetch.calls.at(-1);
      expect(accessOf(last)).toBe('HPUAUNITKEY0001');
      expect(last?.headers).not.toHaveProperty('x-auth-token');
      expect(verify(last, KEY)).toMatchObject({ ok: true });
    });

    it('asks for a token again when an access key is rotated to a password', async () => {
      const { client, fetch } = setup(
        [
          REFUSED,
          {
            status: 201,
            headers: { 'X-Subject-Token': 'unit-aksk-iam-token' },
            body: {
              token: { expires_at: '2026-11-29T12:00:00.000000Z', issued_at: '2026-11-28T12:00:00.000000Z' },
            },
          },
          { status: 202 },
        ],
        secret(KEY, PASSWORD),
      );

      await client.stopJob(REF);

      expect(iamCalls(fetch.calls)).toHaveLength(1);
      expect(fetch.calls.at(-1)?.headers['x-auth-token']).toBe('unit-aksk-iam-token');
    });
  });

  it('prepare() reads the credentials ahead, asks IAM for nothing, and does nothing once the key is held', async () => {
    const { authorizer, fetch, credentials, client } = setup([{ status: 202 }]);

    authorizer.prepare?.();
    const loadsAhead = credentials.state.loads;
    await client.stopJob(REF);
    const loadsAfterStop = credentials.state.loads;
    authorizer.prepare?.();

    expect(loadsAhead).toBe(1);
    expect(credentials.state.loads).toBe(loadsAfterStop);
    expect(iamCalls(fetch.calls)).toEqual([]);
  });
});

describe('Function: clockSkewOf()', () => {
  const refusal = (date: string | null, errorMsg?: string) => ({
    status: 401,
    date,
    receivedAt: NOW,
    repeated: false,
    ...(errorMsg !== undefined && { errorMsg }),
  });

  it.each([
    [new Date(NOW + 15 * 60_000).toUTCString(), false],
    [new Date(NOW + 15 * 60_000 + 1000).toUTCString(), { minutes: 15 }],
    [new Date(NOW - 90 * 60_000).toUTCString(), { minutes: 90 }],
    ['not a date', false],
    [null, false],
  ])('Date %j gives %j', (date, expected) => {
    expect(clockSkewOf(refusal(date))).toEqual(expected);
  });

  it('does not take a malformed X-Sdk-Date for a skewed clock', () => {
    expect(
      clockSkewOf(
        refusal(
          null,
          'Incorrect IAM authentication information: X-Sdk-Date is not a UTC time of the form YYYYMMDDTHHMMSSZ',
        ),
      ),
    ).toBe(false);
  });
});
