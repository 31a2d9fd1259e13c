import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CanonicalRequestInput,
  canonicalQueryString,
  canonicalRequest,
  canonicalUri,
  EMPTY_BODY_SHA256,
  hashPayload,
  hmacSignature,
  parseSdkDate,
  SdkDateError,
  SigningInputError,
  type SignRequestInput,
  sdkDate,
  signRequest,
  stringToSign,
} from '../../lib/upstream/huawei/signer.js';

// Made-up credentials, the same as in test/fixtures/aksk-vectors.py.
const ACCESS_KEY = 'HPUAEXAMPLEACCESSKEY';
const SECRET_KEY = 'exampleSecretKey/with+sign=chars0123456789';
const SECURITY_TOKEN = 'exampleSecurityToken+/=';
const SDK_DATE = '20240506T070809Z';
const NOW = new Date('2024-05-06T07:08:09.000Z');
const PROJECT = '0f51a9e00c80f40f2f3cc00be3572e74';
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const JOB = '03141229-84cd-4b1b-9733-dd124320c125';
const HOST = 'lakeformation.cn-north-4.myhuaweicloud.com';
const JOBS = `/v1/${PROJECT}/instances/${INSTANCE}/lf-jobs`;
const STOP_BODY = '{"force":true,"reason":"stopped by lf-job-stopper ü"}';

interface Vector {
  /** The request as signRequest sees it. */
  request: SignRequestInput;
  /** Exactly the headers the python script signs. */
  signed: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
  authorization: string;
}

// The expected values below are NOT computed by lib/: they were printed by
// `python3 test/fixtures/aksk-vectors.py`, an independent implementation of Huawei's published
// algorithm, and pasted here. Change that script and re-run it, never these literals by hand.
const VECTORS: Record<string, Vector> = {
  GET_LIST: {
    request: {
      method: 'GET',
      url:
        `https://${HOST}${JOBS}?status=RUNNING&offset=0&name=Z%C3%BCrich%20load&status=FAILED` +
        '&tag=a%2Bb+c&limit=10&empty=&flag&_k=1&%60k=2',
      headers: { Accept: 'application/json' },
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      projectId: PROJECT,
      now: NOW,
    },
    signed: { host: HOST, 'x-sdk-date': SDK_DATE, 'x-project-id': PROJECT },
    canonicalRequest:
      'GET\n/v1/0f51a9e00c80f40f2f3cc00be3572e74/instances/2180518f-42b8-4947-b20b-adfc53981a25/lf-jobs/\n_k=1&%60k=2&empty=&flag=&limit=10&name=Z%C3%BCrich%20load&offset=0&status=FAILED&status=RUNNING&tag=a%2Bb%2Bc\nhost:lakeformation.cn-north-4.myhuaweicloud.com\nx-project-id:0f51a9e00c80f40f2f3cc00be3572e74\nx-sdk-date:20240506T070809Z\n\nhost;x-project-id;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    stringToSign:
      'SDK-HMAC-SHA256\n20240506T070809Z\nec06b16e8d5189c4bafc06bcb00b51f24d56e2eac36184a536ef3717c389d6e3',
    signature: '95a5811612eb8f0a82037a48c6ebac3307063b666ecaf9982b109719b55c5b4a',
    authorization:
      'SDK-HMAC-SHA256 Access=HPUAEXAMPLEACCESSKEY, SignedHeaders=host;x-project-id;x-sdk-date, Signature=95a5811612eb8f0a82037a48c6ebac3307063b666ecaf9982b109719b55c5b4a',
  },
  POST_STOP: {
    request: {
      method: 'POST',
      url: `https://${HOST}${JOBS}/${JOB}/stop`,
      headers: { 'Content-Type': 'application/json;charset=UTF-8' },
      body: STOP_BODY,
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      securityToken: SECURITY_TOKEN,
      projectId: PROJECT,
      now: NOW,
    },
    signed: {
      host: HOST,
      'x-sdk-date': SDK_DATE,
      'content-type': 'application/json;charset=UTF-8',
      'x-project-id': PROJECT,
      'x-security-token': SECURITY_TOKEN,
    },
    canonicalRequest:
      'POST\n/v1/0f51a9e00c80f40f2f3cc00be3572e74/instances/2180518f-42b8-4947-b20b-adfc53981a25/lf-jobs/03141229-84cd-4b1b-9733-dd124320c125/stop/\n\ncontent-type:application/json;charset=UTF-8\nhost:lakeformation.cn-north-4.myhuaweicloud.com\nx-project-id:0f51a9e00c80f40f2f3cc00be3572e74\nx-sdk-date:20240506T070809Z\nx-security-token:exampleSecurityToken+/=\n\ncontent-type;host;x-project-id;x-sdk-date;x-security-token\n78d11b4519f84b41647934efbd0a72aa9b89dd0d43c6c665437d0d105f1b6d3a',
    stringToSign:
      'SDK-HMAC-SHA256\n20240506T070809Z\na48332e9db37bd0766ab81f70deca8430382b45060b18db99d27cca3c644440d',
    signature: 'aeb9dfe491c11a6e7860fed5988307efb68a1c9c299f14fcce8d9ef05475da63',
    authorization:
      'SDK-HMAC-SHA256 Access=HPUAEXAMPLEACCESSKEY, SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token, Signature=aeb9dfe491c11a6e7860fed5988307efb68a1c9c299f14fcce8d9ef05475da63',
  },
  GET_ODD_PATH: {
    request: {
      method: 'GET',
      url: `https://${HOST}${JOBS}/job%20name+(%C3%BC)~'!*/history`,
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      now: NOW,
    },
    signed: { host: HOST, 'x-sdk-date': SDK_DATE },
    canonicalRequest:
      'GET\n/v1/0f51a9e00c80f40f2f3cc00be3572e74/instances/2180518f-42b8-4947-b20b-adfc53981a25/lf-jobs/job%20name%2B%28%C3%BC%29~%27%21%2A/history/\n\nhost:lakeformation.cn-north-4.myhuaweicloud.com\nx-sdk-date:20240506T070809Z\n\nhost;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    stringToSign:
      'SDK-HMAC-SHA256\n20240506T070809Z\n8b1a26bd7fe1d8d349714a51c710bd103b2ea15b3876f2b9b79f46c742e41f89',
    signature: '956572f8498b4127b2531fd47c482a912ef45d3aeddf6bfc6e064f22447e27a0',
    authorization:
      'SDK-HMAC-SHA256 Access=HPUAEXAMPLEACCESSKEY, SignedHeaders=host;x-sdk-date, Signature=956572f8498b4127b2531fd47c482a912ef45d3aeddf6bfc6e064f22447e27a0',
  },
  DELETE_LOCAL: {
    request: {
      method: 'DELETE',
      url: `http://127.0.0.1:4566${JOBS}/${JOB}/`,
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      projectId: PROJECT,
      now: NOW,
    },
    signed: { host: '127.0.0.1:4566', 'x-sdk-date': SDK_DATE, 'x-project-id': PROJECT },
    canonicalRequest:
      'DELETE\n/v1/0f51a9e00c80f40f2f3cc00be3572e74/instances/2180518f-42b8-4947-b20b-adfc53981a25/lf-jobs/03141229-84cd-4b1b-9733-dd124320c125/\n\nhost:127.0.0.1:4566\nx-project-id:0f51a9e00c80f40f2f3cc00be3572e74\nx-sdk-date:20240506T070809Z\n\nhost;x-project-id;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    stringToSign:
      'SDK-HMAC-SHA256\n20240506T070809Z\n14c4c7fd0ae85d284c0af4a8ac8559f3f2e89f45878cf317f5f019cb7e30d78f',
    signature: '62dc8c3634264c9945ec160738498433f472b35bd7931445eb0fd59118237ec1',
    authorization:
      'SDK-HMAC-SHA256 Access=HPUAEXAMPLEACCESSKEY, SignedHeaders=host;x-project-id;x-sdk-date, Signature=62dc8c3634264c9945ec160738498433f472b35bd7931445eb0fd59118237ec1',
  },
};

const NAMES = Object.keys(VECTORS);

function vector(name: string): Vector {
  const found = VECTORS[name];
  if (!found) throw new Error(`no vector ${name}`);
  return structuredClone(found);
}

function thrownBy(act: () => unknown): Error {
  try {
    act();
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('expected a throw');
}

function canonicalInput(v: Vector): CanonicalRequestInput {
  return { method: v.request.method, url: v.request.url, headers: v.signed, body: v.request.body };
}

describe('Function: canonicalRequest()', () => {
  it.each(NAMES)('builds the canonical request of vector %s exactly as the python script does', (name) => {
    // Prepare
    const v = vector(name);

    // Act
    const result = canonicalRequest(canonicalInput(v));

    // Assess
    expect(result).toBe(v.canonicalRequest);
  });

  it('upper-cases the method, lower-cases and trims header names and values, and hashes an empty body', () => {
    const result = canonicalRequest({
      method: 'get',
      url: 'https://lf.example.com',
      headers: { 'X-Sdk-Date': ` ${SDK_DATE}\t`, HOST: 'lf.example.com' },
    });

    expect(result).toBe(
      `GET\n/\n\nhost:lf.example.com\nx-sdk-date:${SDK_DATE}\n\nhost;x-sdk-date\n${EMPTY_BODY_SHA256}`,
    );
  });

  it('hashes a string body as its UTF-8 bytes, the same as the bytes themselves', () => {
    expect(hashPayload(STOP_BODY)).toBe(hashPayload(new TextEncoder().encode(STOP_BODY)));
    expect(hashPayload(undefined)).toBe(EMPTY_BODY_SHA256);
  });

  it.each([
    ['a header name given twice in different case', { host: 'a', Host: 'b' }],
    ['a header value with a line break', { host: 'a', 'x-sdk-date': `${SDK_DATE}\r\nx-evil: 1` }],
    ['a header name that is not an HTTP token', { 'bad name': 'a' }],
  ])('refuses %s', (_label, headers) => {
    expect(() => canonicalRequest({ method: 'GET', url: 'https://lf.example.com/', headers })).toThrow(
      SigningInputError,
    );
  });

  it('refuses a path that is not valid percent-encoding', () => {
    expect(() =>
      canonicalRequest({ method: 'GET', url: 'https://lf.example.com/v1/%E6%97', headers: { host: 'x' } }),
    ).toThrow(SigningInputError);
  });
});

describe('Function: canonicalUri()', () => {
  it.each([
    ['/', '/'],
    ['', '/'],
    ['/v1/p/lf-jobs', '/v1/p/lf-jobs/'],
    ['/v1/p/lf-jobs/', '/v1/p/lf-jobs/'],
    ['/v1/a%20b/c+d', '/v1/a%20b/c%2Bd/'],
    ['/v1/%7Ejob~', '/v1/~job~/'],
  ])('turns %j into %j', (path, expected) => {
    expect(canonicalUri(path)).toBe(expected);
  });
});

describe('Function: canonicalQueryString()', () => {
  it.each([
    ['', ''],
    ['?', ''],
    ['?limit=10', 'limit=10'],
    ['b=2&a=1&b=1', 'a=1&b=1&b=2'],
    ['F=1&b=2', 'F=1&b=2'],
    ['flag&x=', 'flag=&x='],
    ['&&=orphan&a=1', 'a=1'],
    ['q=a+b%20c', 'q=a%2Bb%20c'],
    ['k=%7e', 'k=~'],
  ])('turns %j into %j', (query, expected) => {
    expect(canonicalQueryString(query)).toBe(expected);
  });
});

describe('Function: stringToSign()', () => {
  it.each(NAMES)('builds the string to sign of vector %s exactly as the python script does', (name) => {
    const v = vector(name);

    expect(stringToSign(v.canonicalRequest, SDK_DATE)).toBe(v.stringToSign);
  });

  it('refuses a date that is not an X-Sdk-Date', () => {
    expect(() => stringToSign('GET\n/\n', '2024-05-06T07:08:09Z')).toThrow(SdkDateError);
  });
});

describe('Function: hmacSignature()', () => {
  it.each(NAMES)(
    'signs the string of vector %s with the secret key exactly as the python script does',
    (name) => {
      const v = vector(name);

      expect(hmacSignature(v.stringToSign, SECRET_KEY)).toBe(v.signature);
    },
  );
});

describe('Function: signRequest()', () => {
  it.each(NAMES)('returns the Authorization of vector %s exactly as the python script does', (name) => {
    // Prepare
    const v = vector(name);

    // Act
    const headers = signRequest(v.request);

    // Assess
    expect(headers.Authorization).toBe(v.authorization);
    expect(headers['X-Sdk-Date']).toBe(SDK_DATE);
  });

  it('adds X-Project-Id and X-Security-Token, signed, only when they are given', () => {
    const bare = signRequest(vector('GET_ODD_PATH').request);
    const full = signRequest(vector('POST_STOP').request);

    expect(Object.keys(bare).sort()).toEqual(['Authorization', 'X-Sdk-Date']);
    expect(full).toMatchObject({ 'X-Project-Id': PROJECT, 'X-Security-Token': SECURITY_TOKEN });
    expect(full.Authorization).toContain(
      'SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token,',
    );
  });

  it('signs a Host header the caller sets instead of the URL host', () => {
    const request = { ...vector('DELETE_LOCAL').request, url: `http://localhost:9${JOBS}/${JOB}/` };
    const headers = signRequest({ ...request, headers: { Host: '127.0.0.1:4566' } });

    expect(headers.Authorization).toBe(vector('DELETE_LOCAL').authorization);
  });

  it('leaves headers other than host and content-type out of the signature', () => {
    const base = vector('POST_STOP').request;
    const plain = signRequest(base);
    const withExtras = signRequest({
      ...base,
      headers: { ...base.headers, 'User-Agent': 'lf-job-stopper/1', 'Content-Length': '53', Accept: '*/*' },
    });

    expect(withExtras.Authorization).toBe(plain.Authorization);
  });

  const changes: Array<[string, (r: SignRequestInput) => SignRequestInput]> = [
    ['the content type', (r) => ({ ...r, headers: { 'Content-Type': 'text/plain' } })],
    ['the body', (r) => ({ ...r, body: STOP_BODY.replace('true', 'false') })],
    ['the path', (r) => ({ ...r, url: String(r.url).replace('/stop', '/start') })],
    ['the query', (r) => ({ ...r, url: `${String(r.url)}?dry_run=true` })],
    ['the method', (r) => ({ ...r, method: 'PUT' })],
    ['the host', (r) => ({ ...r, url: String(r.url).replace('cn-north-4', 'cn-east-3') })],
    ['the date, by one second', (r) => ({ ...r, now: new Date(NOW.getTime() + 1000) })],
    ['the secret key', (r) => ({ ...r, secretKey: `${SECRET_KEY}x` })],
    ['the project id', (r) => ({ ...r, projectId: PROJECT.replace('0f', '1f') })],
    ['the security token', (r) => ({ ...r, securityToken: `${SECURITY_TOKEN}x` })],
  ];

  it.each(changes)('gives another signature when %s changes', (_label, change) => {
    const base = vector('POST_STOP').request;

    const before = signRequest(base).Authorization;
    const after = signRequest(change(base)).Authorization;

    expect(after).not.toBe(before);
    expect(after).toMatch(
      /^SDK-HMAC-SHA256 Access=HPUAEXAMPLEACCESSKEY, SignedHeaders=[a-z;-]+, Signature=[0-9a-f]{64}$/,
    );
  });

  it('ignores milliseconds of the signing time, as X-Sdk-Date does', () => {
    const base = vector('POST_STOP').request;

    expect(signRequest({ ...base, now: new Date(NOW.getTime() + 999) })).toEqual(signRequest(base));
  });

  it.each(['Authorization', 'x-sdk-date', 'X-Project-Id', 'X-Security-Token', 'X-Sdk-Content-Sha256'])(
    'refuses a %s header from the caller, since the signer sets it',
    (name) => {
      const base = vector('GET_ODD_PATH').request;

      expect(() => signRequest({ ...base, headers: { [name]: 'x' } })).toThrow(SigningInputError);
    },
  );

  it.each<[string, Partial<SignRequestInput>]>([
    ['an empty access key', { accessKey: '' }],
    ['an access key with a comma', { accessKey: 'AK,Signature=0' }],
    ['an access key with a space', { accessKey: 'AK X' }],
    ['an empty secret key', { secretKey: '' }],
    ['an empty project id', { projectId: '' }],
    ['an empty security token', { securityToken: '' }],
    ['a relative URL', { url: '/v1/lf-jobs' }],
  ])('refuses %s without quoting a secret in the error', (_label, change) => {
    const base = vector('POST_STOP').request;

    const error = thrownBy(() => signRequest({ ...base, ...change }));

    expect(error).toBeInstanceOf(SigningInputError);
    expect(error.message).not.toContain(SECRET_KEY);
    expect(error.message).not.toContain(SECURITY_TOKEN);
  });

  it('refuses an invalid signing time', () => {
    expect(() => signRequest({ ...vector('POST_STOP').request, now: new Date(Number.NaN) })).toThrow(
      SdkDateError,
    );
  });
});

describe('Function: sdkDate()', () => {
  it('writes a UTC time as YYYYMMDDTHHMMSSZ without milliseconds', () => {
    expect(sdkDate(new Date('2024-05-06T07:08:09.999Z'))).toBe(SDK_DATE);
    expect(sdkDate(new Date('0999-01-02T03:04:05Z'))).toBe('09990102T030405Z');
  });

  it.each([
    ['an invalid date', new Date(Number.NaN)],
    ['a five-digit year', new Date('+010000-01-01T00:00:00Z')],
    ['a negative year', new Date('-000001-01-01T00:00:00Z')],
  ])('refuses %s', (_label, date) => {
    expect(() => sdkDate(date)).toThrow(SdkDateError);
  });
});

describe('Function: parseSdkDate()', () => {
  it('reads an X-Sdk-Date as a UTC time', () => {
    expect(parseSdkDate(SDK_DATE).toISOString()).toBe('2024-05-06T07:08:09.000Z');
    expect(parseSdkDate('00500101T000000Z').toISOString()).toBe('0050-01-01T00:00:00.000Z');
  });

  it('round-trips any time to the second', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0000-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (date) => {
          const text = sdkDate(date);
          expect(parseSdkDate(text).getTime()).toBe(Math.floor(date.getTime() / 1000) * 1000);
          expect(sdkDate(parseSdkDate(text))).toBe(text);
        },
      ),
    );
  });

  it.each([
    '',
    '2024-05-06T07:08:09Z',
    '20240506T070809',
    '20240506T070809.000Z',
    '20240506T070809+0800',
    '20240506t070809z',
    ' 20240506T070809Z',
    '20240506T070809Z\n',
    '2024056T070809Z',
    '20241306T070809Z',
    '20240006T070809Z',
    '20240230T070809Z',
    '20230229T070809Z',
    '20240506T240000Z',
    '20240506T076009Z',
    '20240506T070860Z',
    '２0240506T070809Z',
  ])('refuses %j', (text) => {
    expect(() => parseSdkDate(text)).toThrow(SdkDateError);
  });

  it('accepts 29 February of a leap year', () => {
    expect(parseSdkDate('20240229T235959Z').toISOString()).toBe('2024-02-29T23:59:59.000Z');
  });
});
