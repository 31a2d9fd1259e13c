import { describe, expect, it } from 'vitest';
import { type SignRequestInput, signRequest } from '../../lib/upstream/huawei/signer.js';
import { type VerifySignatureInput, verifySignature } from '../../local/emulator/signature.js';

// Made-up credentials, the same as in test/fixtures/aksk-vectors.py.
const ACCESS_KEY = 'HPUAEXAMPLEACCESSKEY';
const SECRET_KEY = 'exampleSecretKey/with+sign=chars0123456789';
const SECURITY_TOKEN = 'exampleSecurityToken+/=';
const NOW = new Date('2024-05-06T07:08:09.000Z');
const PROJECT = '0f51a9e00c80f40f2f3cc00be3572e74';
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const JOB = '03141229-84cd-4b1b-9733-dd124320c125';
const HOST = 'lakeformation.cn-north-4.myhuaweicloud.com';
const JOBS = `/v1/${PROJECT}/instances/${INSTANCE}/lf-jobs`;
const STOP_BODY = '{"force":true,"reason":"stopped by lf-job-stopper ü"}';
const MINUTE = 60_000;

const keys = (accessKey: string) => (accessKey === ACCESS_KEY ? SECRET_KEY : undefined);

function stopRequest(overrides: Partial<SignRequestInput> = {}): SignRequestInput {
  return {
    method: 'POST',
    url: `https://${HOST}${JOBS}/${JOB}/stop?trace=a%20b&trace=A`,
    headers: { 'Content-Type': 'application/json' },
    body: STOP_BODY,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    securityToken: SECURITY_TOKEN,
    projectId: PROJECT,
    now: NOW,
    ...overrides,
  };
}

/** What the emulator's HTTP server would see for a request signed by the product's signer. */
function received(request: SignRequestInput): VerifySignatureInput {
  const url = new URL(request.url);
  const headers: Record<string, string> = { host: url.host, 'user-agent': 'node', 'content-length': '53' };
  for (const [name, value] of Object.entries({ ...request.headers, ...signRequest(request) })) {
    headers[name.toLowerCase()] = value;
  }
  return {
    method: request.method,
    path: url.pathname,
    query: url.search,
    headers,
    body: typeof request.body === 'string' ? Buffer.from(request.body) : request.body,
    secretKeyFor: keys,
    now: NOW,
  };
}

function refusal(input: VerifySignatureInput) {
  const verdict = verifySignature(input);
  if (verdict.ok) throw new Error('expected a refusal');
  expect(verdict).toMatchObject({ status: 401, code: 'APIG.0301' });
  expect(verdict.reason).toMatch(/^Incorrect IAM authentication information: /);
  return verdict;
}

describe('Function: verifySignature()', () => {
  it('accepts a request signed by signRequest and names its access key, token and project', () => {
    // Prepare
    const input = received(stopRequest());

    // Act
    const verdict = verifySignature(input);

    // Assess
    expect(verdict).toEqual({
      ok: true,
      accessKey: ACCESS_KEY,
      securityToken: SECURITY_TOKEN,
      projectId: PROJECT,
    });
  });

  it('accepts a signed GET without body, token or project id', () => {
    const {
      securityToken: _t,
      projectId: _p,
      ...request
    } = stopRequest({
      method: 'GET',
      url: `https://${HOST}${JOBS}?limit=10&offset=0`,
      headers: {},
      body: undefined,
    });

    expect(verifySignature(received(request))).toEqual({ ok: true, accessKey: ACCESS_KEY });
  });

  it('accepts a date up to 15 minutes off either way', () => {
    const input = received(stopRequest());

    expect(verifySignature({ ...input, now: new Date(NOW.getTime() + 15 * MINUTE) }).ok).toBe(true);
    expect(verifySignature({ ...input, now: new Date(NOW.getTime() - 15 * MINUTE) }).ok).toBe(true);
  });

  it('refuses a signature made with another secret key', () => {
    const input = received(stopRequest({ secretKey: 'not-the-secret' }));

    const verdict = refusal(input);

    expect(verdict.failure).toBe('signature-mismatch');
    expect(verdict.reason).toContain('verify aksk signature fail');
  });

  it('refuses an access key it does not know, without echoing the key', () => {
    const input = received(stopRequest({ accessKey: 'HPUAUNKNOWNKEY000000' }));

    const verdict = refusal(input);

    expect(verdict.failure).toBe('unknown-access-key');
    expect(verdict.reason).not.toContain('HPUAUNKNOWNKEY000000');
  });

  it('refuses a request whose signed header value changed after signing', () => {
    const input = received(stopRequest());

    const verdict = refusal({ ...input, headers: { ...input.headers, 'content-type': 'text/plain' } });

    expect(verdict.failure).toBe('signature-mismatch');
    expect(verdict.reason).toContain('content-type:text/plain');
  });

  it('does not echo the security token in a mismatch', () => {
    const input = received(stopRequest());

    const verdict = refusal({ ...input, method: 'PUT' });

    expect(verdict.failure).toBe('signature-mismatch');
    expect(verdict.reason).toContain('x-security-token:***');
    expect(verdict.reason).not.toContain(SECURITY_TOKEN);
  });

  it.each([
    ['body', (i: VerifySignatureInput) => ({ ...i, body: STOP_BODY.replace('true', 'false') })],
    ['path', (i: VerifySignatureInput) => ({ ...i, path: i.path.replace('/stop', '/start') })],
    ['query', (i: VerifySignatureInput) => ({ ...i, query: '?trace=a%20b' })],
  ])('refuses a request whose %s changed after signing', (_label, change) => {
    expect(refusal(change(received(stopRequest()))).failure).toBe('signature-mismatch');
  });

  it('leaves unsigned headers free to change', () => {
    const input = received(stopRequest());

    expect(verifySignature({ ...input, headers: { ...input.headers, 'user-agent': 'other' } }).ok).toBe(true);
  });

  it.each(['host', 'x-sdk-date', 'x-security-token', 'x-project-id'])(
    'refuses a request that does not sign %s',
    (name) => {
      // Prepare: drop the name from SignedHeaders (the signature no longer matters: this check comes first).
      const input = received(stopRequest());
      const authorization = String(input.headers.authorization).replace(
        /SignedHeaders=([^,]+)/,
        (_m, list: string) =>
          `SignedHeaders=${list
            .split(';')
            .filter((n) => n !== name)
            .join(';')}`,
      );

      // Act
      const verdict = refusal({ ...input, headers: { ...input.headers, authorization } });

      // Assess
      expect(verdict.failure).toBe('required-header-unsigned');
      expect(verdict.reason).toContain(`${name} is not among the signed headers`);
    },
  );

  it('refuses a request missing a header it lists as signed', () => {
    const input = received(stopRequest());
    const { 'content-type': _dropped, ...headers } = input.headers;

    const verdict = refusal({ ...input, headers });

    expect(verdict.failure).toBe('signed-header-absent');
    expect(verdict.reason).toContain('signed header content-type is not in the request');
  });

  it.each([
    ['behind', 16 * MINUTE],
    ['ahead of', -16 * MINUTE],
  ])(
    'refuses a date 16 minutes %s server time, and says it is more than 15 minutes off',
    (direction, shift) => {
      const input = received(stopRequest());

      const verdict = refusal({ ...input, now: new Date(NOW.getTime() + shift) });

      expect(verdict.failure).toBe('date-skewed');
      expect(verdict.reason).toContain(`20240506T070809Z is 16 minutes ${direction} server time`);
      expect(verdict.reason).toContain('more than the 15 minutes allowed');
    },
  );

  it.each(['2024-05-06T07:08:09Z', '20240230T070809Z', '20240506T070809'])(
    'refuses an X-Sdk-Date of %j',
    (date) => {
      const input = received(stopRequest());

      const verdict = refusal({ ...input, headers: { ...input.headers, 'x-sdk-date': date } });

      expect(verdict.failure).toBe('date-malformed');
    },
  );

  it('refuses a request without Authorization', () => {
    const { authorization: _dropped, ...headers } = received(stopRequest()).headers;

    const verdict = refusal({ ...received(stopRequest()), headers });

    expect(verdict.failure).toBe('authorization-missing');
  });

  it.each([
    'Bearer abc',
    'SDK-HMAC-SHA256 Access=AK',
    'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date',
    `SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=${'A'.repeat(64)}`,
    `SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date;host, Signature=${'a'.repeat(64)}`,
    `SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host;x-sdk-date, Signature=${'a'.repeat(64)}`,
    `SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=${'a'.repeat(64)}, Extra=1`,
    `SDK-HMAC-SHA256 Access=, SignedHeaders=host;x-sdk-date, Signature=${'a'.repeat(64)}`,
  ])('refuses the malformed Authorization %j', (authorization) => {
    const input = received(stopRequest());

    const verdict = refusal({ ...input, headers: { ...input.headers, authorization } });

    expect(verdict.failure).toBe('authorization-malformed');
  });

  // The request and Authorization below are vector POST_STOP, printed by
  // `python3 test/fixtures/aksk-vectors.py` (an implementation independent of both lib/ and the emulator).
  it("accepts the python script's fixed vector POST_STOP", () => {
    const verdict = verifySignature({
      method: 'POST',
      path: `${JOBS}/${JOB}/stop`,
      query: '',
      headers: {
        host: HOST,
        'content-type': 'application/json;charset=UTF-8',
        'x-project-id': PROJECT,
        'x-sdk-date': '20240506T070809Z',
        'x-security-token': SECURITY_TOKEN,
        'content-length': '56',
        authorization:
          'SDK-HMAC-SHA256 Access=HPUAEXAMPLEACCESSKEY, SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token, Signature=aeb9dfe491c11a6e7860fed5988307efb68a1c9c299f14fcce8d9ef05475da63',
      },
      body: Buffer.from(STOP_BODY, 'utf8'),
      secretKeyFor: keys,
      now: new Date(NOW.getTime() + 10 * MINUTE),
    });

    expect(verdict).toEqual({
      ok: true,
      accessKey: ACCESS_KEY,
      securityToken: SECURITY_TOKEN,
      projectId: PROJECT,
    });
  });

  // Vector GET_LIST from the same script: unsorted, repeated and encoded query parameters.
  it("accepts the python script's fixed vector GET_LIST", () => {
    const verdict = verifySignature({
      method: 'GET',
      path: JOBS,
      query:
        '?status=RUNNING&offset=0&name=Z%C3%BCrich%20load&status=FAILED&tag=a%2Bb+c&limit=10&empty=&flag&_k=1&%60k=2',
      headers: {
        host: HOST,
        'x-project-id': PROJECT,
        'x-sdk-date': '20240506T070809Z',
        authorization:
          'SDK-HMAC-SHA256 Access=HPUAEXAMPLEACCESSKEY, SignedHeaders=host;x-project-id;x-sdk-date, Signature=95a5811612eb8f0a82037a48c6ebac3307063b666ecaf9982b109719b55c5b4a',
      },
      secretKeyFor: keys,
      now: NOW,
    });

    expect(verdict).toEqual({ ok: true, accessKey: ACCESS_KEY, projectId: PROJECT });
  });

  // Vector GET_ODD_PATH from the same script: a path segment with characters that need encoding.
  it("accepts the python script's fixed vector GET_ODD_PATH", () => {
    const verdict = verifySignature({
      method: 'GET',
      path: `${JOBS}/job%20name+(%C3%BC)~'!*/history`,
      query: '',
      headers: {
        host: HOST,
        'x-sdk-date': '20240506T070809Z',
        authorization:
          'SDK-HMAC-SHA256 Access=HPUAEXAMPLEACCESSKEY, SignedHeaders=host;x-sdk-date, Signature=956572f8498b4127b2531fd47c482a912ef45d3aeddf6bfc6e064f22447e27a0',
      },
      secretKeyFor: keys,
      now: NOW,
    });

    expect(verdict).toEqual({ ok: true, accessKey: ACCESS_KEY });
  });

  it('refuses every request when the server clock is invalid', () => {
    expect(refusal({ ...received(stopRequest()), now: new Date(Number.NaN) }).failure).toBe('date-skewed');
  });
});
