import { createHash, createHmac } from 'node:crypto';

/**
 * Huawei Cloud AK/SK request signing, `SDK-HMAC-SHA256`, as the API gateway in front of LakeFormation
 * checks it (Huawei's API Request Signing Guide, "API signature authentication mechanism"; the
 * `AKSKSigner` of `huaweicloud-sdk-nodejs-v3` and the signer of the APIG Python SDK):
 *
 * ```text
 * CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n hex(SHA-256(body))
 * StringToSign     = SDK-HMAC-SHA256 \n X-Sdk-Date \n hex(SHA-256(CanonicalRequest))
 * Signature        = hex(HMAC-SHA-256(key = secret key, StringToSign))
 * Authorization    = SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<names>, Signature=<signature>
 * ```
 *
 * Pure: no clock, no I/O, no logging. Error messages name the offending input, never a key, a token
 * or a header value. Fixed vectors in `test/unit/signer.test.ts` come from `test/fixtures/aksk-vectors.py`.
 */

/** The algorithm name that opens the string to sign and the `Authorization` header. */
export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';

/** hex(SHA-256("")), the payload hash of a request without a body. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * Headers a caller must not pass to {@link signRequest}: the signer sets them, and
 * `x-sdk-content-sha256` would make the gateway take its value instead of hashing the body.
 */
const SIGNER_OWNED_HEADERS = new Set([
  'authorization',
  'x-sdk-date',
  'x-project-id',
  'x-security-token',
  'x-sdk-content-sha256',
]);

/** An input {@link signRequest} or a building block cannot sign (bad URL, header, key shape…). */
export class SigningInputError extends Error {
  override name = 'SigningInputError';
}

/** A date that cannot be written or read as an `X-Sdk-Date` (`YYYYMMDDTHHMMSSZ`, UTC). */
export class SdkDateError extends Error {
  override name = 'SdkDateError';
}

/** A request body as it goes on the wire; a string is sent, and hashed, as UTF-8. */
export type RequestBody = string | Uint8Array;

/** What {@link canonicalRequest} reads: exactly the headers passed are signed, all of them. */
export interface CanonicalRequestInput {
  method: string;
  /** The absolute URL the request goes to; its path and query are canonicalised. */
  url: string | URL;
  /** The headers to sign, names in any case; each name once. */
  headers: Readonly<Record<string, string>>;
  body?: RequestBody;
}

/** What {@link signRequest} needs. */
export interface SignRequestInput {
  method: string;
  url: string | URL;
  /** Headers the request will carry; only `host` and `content-type` among them are signed (see below). */
  headers?: Readonly<Record<string, string>>;
  body?: RequestBody;
  accessKey: string;
  secretKey: string;
  /** Temporary credentials only: sent, and signed, as `X-Security-Token`. */
  securityToken?: string;
  /** Sent, and signed, as `X-Project-Id`. */
  projectId?: string;
  /** The signing time; it becomes `X-Sdk-Date` (the gateway refuses one more than 15 min off). */
  now: Date;
}

/** The headers {@link signRequest} adds to a request. */
export interface AkSkHeaders {
  'X-Sdk-Date': string;
  Authorization: string;
  'X-Project-Id'?: string;
  'X-Security-Token'?: string;
}

/**
 * Signs a request with an AK/SK pair and returns the headers to add to it.
 *
 * Signed headers: `host`, `x-sdk-date`, and, when the request has them, `content-type`,
 * `x-project-id` and `x-security-token`. Huawei requires only `x-sdk-date` (and its SDKs add
 * `host`); its Node SDK signs every header it holds. We sign a fixed list instead because fetch,
 * the runtime and proxies add or rewrite other headers after signing (`content-length`,
 * `user-agent`, `accept-encoding`, `connection`…), and a signed header that changes on the way
 * makes the gateway refuse the request. The list keeps what an attacker could usefully change:
 * the target host, the signing time, the project the call acts in, the temporary credential the
 * signature belongs to, and how the signed body is to be read.
 *
 * The URL is taken as the WHATWG URL parser gives it (what fetch sends). A `+` in its query is a
 * literal plus, as in Huawei's signers: write a space as `%20`, not `+`.
 *
 * @throws {SigningInputError} when the URL, method, a header or a key cannot be signed.
 * @throws {SdkDateError} when `now` is not a valid date in years 0–9999.
 * @example
 * ```ts
 * const url = `https://lakeformation.cn-north-4.myhuaweicloud.com/v1/${projectId}/instances/${instanceId}/lf-jobs/${jobId}/stop`;
 * const headers = { 'Content-Type': 'application/json' };
 * const body = '{}';
 * const signed = signRequest({ method: 'POST', url, headers, body, accessKey, secretKey, projectId, now: new Date() });
 * await fetch(url, { method: 'POST', headers: { ...headers, ...signed }, body });
 * ```
 */
export function signRequest(input: SignRequestInput): AkSkHeaders {
  const { accessKey, secretKey, securityToken, projectId } = input;
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(accessKey)) {
    throw new SigningInputError('accessKey must be non-empty printable ASCII without spaces or commas');
  }
  if (secretKey === '') throw new SigningInputError('secretKey is empty');
  if (projectId === '') throw new SigningInputError('projectId is empty');
  if (securityToken === '') throw new SigningInputError('securityToken is empty');

  const url = parseUrl(input.url);
  const date = sdkDate(input.now);
  const toSign: Record<string, string> = { host: url.host, 'x-sdk-date': date };
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    const lower = name.toLowerCase();
    if (SIGNER_OWNED_HEADERS.has(lower)) {
      throw new SigningInputError(`header ${lower} is set by the signer; do not pass it`);
    }
    // The Host a caller sets is the one sent, so it is the one signed.
    if (lower === 'host' || lower === 'content-type') toSign[lower] = value;
  }
  if (projectId !== undefined) toSign['x-project-id'] = projectId;
  if (securityToken !== undefined) toSign['x-security-token'] = securityToken;

  const request = canonicalRequest({ method: input.method, url, headers: toSign, body: input.body });
  const signature = hmacSignature(stringToSign(request, date), secretKey);
  const headers: AkSkHeaders = {
    'X-Sdk-Date': date,
    Authorization: `${SIGNING_ALGORITHM} Access=${accessKey}, SignedHeaders=${signedHeaderNames(toSign)}, Signature=${signature}`,
  };
  if (projectId !== undefined) headers['X-Project-Id'] = projectId;
  if (securityToken !== undefined) headers['X-Security-Token'] = securityToken;
  return headers;
}

/**
 * The canonical request: method, canonical URI, canonical query string, canonical headers, signed
 * header names and payload hash, joined by `\n`. Every header passed is signed.
 *
 * @throws {SigningInputError} on a bad URL, method or header.
 * @example
 * ```ts
 * canonicalRequest({
 *   method: 'get',
 *   url: 'https://lf.example.com/v1/p/lf-jobs?limit=10',
 *   headers: { Host: 'lf.example.com', 'X-Sdk-Date': '20240506T070809Z' },
 * });
 * // 'GET\n/v1/p/lf-jobs/\nlimit=10\nhost:lf.example.com\nx-sdk-date:20240506T070809Z\n\nhost;x-sdk-date\ne3b0…b855'
 * ```
 */
export function canonicalRequest(input: CanonicalRequestInput): string {
  const method = input.method.toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new SigningInputError('method must be letters only, such as GET');
  const url = parseUrl(input.url);
  return [
    method,
    canonicalUri(url.pathname),
    canonicalQueryString(url.search),
    canonicalHeaders(input.headers),
    signedHeaderNames(input.headers),
    hashPayload(input.body),
  ].join('\n');
}

/**
 * The canonical URI: the path percent-decoded, each `/`-separated segment URI-encoded (RFC 3986
 * unreserved characters kept), and always ending with `/` (the request itself need not).
 *
 * @throws {SigningInputError} when the path is not valid percent-encoded UTF-8.
 * @example
 * ```ts
 * canonicalUri('/v1/p/lf-jobs/a%20b(1)'); // '/v1/p/lf-jobs/a%20b%281%29/'
 * ```
 */
export function canonicalUri(path: string): string {
  const encoded = percentDecode(path, 'the URL path').split('/').map(uriEncode).join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

/**
 * The canonical query string from a raw query (with or without its `?`): each name and value
 * decoded (`+` stays a plus), sorted by name in character-code order and, for a repeated name,
 * by value, then written `name=value` URI-encoded and joined by `&`. A name without a value keeps
 * its `=`; pieces without a name are dropped.
 *
 * @throws {SigningInputError} when the query is not valid percent-encoded UTF-8.
 * @example
 * ```ts
 * canonicalQueryString('?status=RUNNING&limit=10&status=FAILED&flag');
 * // 'flag=&limit=10&status=FAILED&status=RUNNING'
 * ```
 */
export function canonicalQueryString(rawQuery: string): string {
  const query = rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery;
  const valuesByName = new Map<string, string[]>();
  for (const piece of query.split('&')) {
    const equals = piece.indexOf('=');
    const rawName = equals === -1 ? piece : piece.slice(0, equals);
    if (rawName === '') continue;
    const name = percentDecode(rawName, 'a query parameter name');
    const value = equals === -1 ? '' : percentDecode(piece.slice(equals + 1), 'a query parameter value');
    const values = valuesByName.get(name);
    if (values) values.push(value);
    else valuesByName.set(name, [value]);
  }
  const pairs: string[] = [];
  for (const name of [...valuesByName.keys()].sort(byCodePoint)) {
    for (const value of (valuesByName.get(name) ?? []).sort(byCodePoint)) {
      pairs.push(`${uriEncode(name)}=${uriEncode(value)}`);
    }
  }
  return pairs.join('&');
}

/**
 * The canonical headers block: one `name:value\n` per header, names lower-cased, values trimmed,
 * sorted by name.
 *
 * @throws {SigningInputError} on an invalid or repeated name, or a value with CR, LF or NUL.
 */
export function canonicalHeaders(headers: Readonly<Record<string, string>>): string {
  return lowerCasedHeaders(headers)
    .map(([name, value]) => `${name}:${value}\n`)
    .join('');
}

/**
 * The `SignedHeaders` list: the lower-cased header names, sorted, joined by `;`.
 *
 * @throws {SigningInputError} on an invalid or repeated name, or a value with CR, LF or NUL.
 * @example
 * ```ts
 * signedHeaderNames({ 'X-Sdk-Date': '…', Host: '…' }); // 'host;x-sdk-date'
 * ```
 */
export function signedHeaderNames(headers: Readonly<Record<string, string>>): string {
  return lowerCasedHeaders(headers)
    .map(([name]) => name)
    .join(';');
}

/** hex(SHA-256(body)); a string is hashed as UTF-8, a missing body as the empty string. */
export function hashPayload(body: RequestBody | undefined): string {
  return createHash('sha256')
    .update(body ?? '')
    .digest('hex');
}

/**
 * The string to sign: `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex SHA-256 of the canonical request>`.
 *
 * @throws {SdkDateError} when `date` is not a valid `X-Sdk-Date`.
 * @example
 * ```ts
 * stringToSign(canonicalRequest(request), '20240506T070809Z');
 * // 'SDK-HMAC-SHA256\n20240506T070809Z\n<64 hex digits>'
 * ```
 */
export function stringToSign(canonical: string, date: string): string {
  parseSdkDate(date);
  const requestHash = createHash('sha256').update(canonical, 'utf8').digest('hex');
  return `${SIGNING_ALGORITHM}\n${date}\n${requestHash}`;
}

/** hex(HMAC-SHA-256) of the string to sign, keyed with the secret key itself (UTF-8), no derived key. */
export function hmacSignature(toSign: string, secretKey: string): string {
  return createHmac('sha256', secretKey).update(toSign, 'utf8').digest('hex');
}

/**
 * Writes a date as an `X-Sdk-Date`: `YYYYMMDDTHHMMSSZ` in UTC, milliseconds dropped.
 *
 * @throws {SdkDateError} for an invalid date or a year outside 0–9999.
 * @example
 * ```ts
 * sdkDate(new Date('2024-05-06T07:08:09.999Z')); // '20240506T070809Z'
 * ```
 */
export function sdkDate(date: Date): string {
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 0 || year > 9999) {
    throw new SdkDateError('the date cannot be written as an X-Sdk-Date (invalid, or year outside 0-9999)');
  }
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${String(year).padStart(4, '0')}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}` +
    `T${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`
  );
}

/**
 * Reads an `X-Sdk-Date` (`YYYYMMDDTHHMMSSZ`, UTC). Anything else — another ISO 8601 form, a time
 * zone offset, milliseconds, or a calendar date that does not exist such as `20240230T…` or hour
 * 24 — is refused.
 *
 * @throws {SdkDateError} when the text is not a valid `X-Sdk-Date`.
 * @example
 * ```ts
 * parseSdkDate('20240506T070809Z').toISOString(); // '2024-05-06T07:08:09.000Z'
 * ```
 */
export function parseSdkDate(text: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  const refuse = () =>
    new SdkDateError(`${JSON.stringify(text.slice(0, 32))} is not an X-Sdk-Date (YYYYMMDDTHHMMSSZ, UTC)`);
  if (!match) throw refuse();
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  // Date rolls 30 February over into March and hour 24 into the next day: a changed field means
  // the text named a time that does not exist.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    throw refuse();
  }
  return date;
}

function parseUrl(url: string | URL): URL {
  if (url instanceof URL) return url;
  try {
    return new URL(url);
  } catch {
    // No `cause`: Node's URL error carries the input, and a URL may hold more than it should.
    throw new SigningInputError('url is not an absolute URL');
  }
}

/** Lower-cased, trimmed and sorted by name; refuses what could not be sent or would be ambiguous. */
function lowerCasedHeaders(headers: Readonly<Record<string, string>>): Array<[string, string]> {
  const byName = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new SigningInputError('a header name is not an HTTP token');
    }
    const lower = name.toLowerCase();
    if (byName.has(lower)) throw new SigningInputError(`header ${lower} is given more than once`);
    if (/[\r\n\0]/.test(value))
      throw new SigningInputError(`header ${lower} has a CR, LF or NUL in its value`);
    byName.set(lower, value.trim());
  }
  return [...byName.entries()].sort(([a], [b]) => byCodePoint(a, b));
}

/** RFC 3986 encoding of the UTF-8 bytes: `A-Z a-z 0-9 - _ . ~` kept, every other byte `%XY` upper-case. */
function uriEncode(text: string): string {
  if (/\p{Cs}/u.test(text)) throw new SigningInputError('text to encode has a lone UTF-16 surrogate');
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const unreserved =
      (byte >= 0x30 && byte <= 0x39) || // 0-9
      (byte >= 0x41 && byte <= 0x5a) || // A-Z
      (byte >= 0x61 && byte <= 0x7a) || // a-z
      byte === 0x2d || // -
      byte === 0x2e || // .
      byte === 0x5f || // _
      byte === 0x7e; // ~
    out += unreserved ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function percentDecode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new SigningInputError(`${what} is not valid percent-encoded UTF-8`);
  }
}

/** Character-code (Unicode code point) order; UTF-8 byte order is the same order. */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
