import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The emulator's check of Huawei AK/SK signatures (`SDK-HMAC-SHA256`), as the API gateway in front
 * of LakeFormation makes it (Huawei's API Request Signing Guide; the APIG signing SDKs).
 *
 * Written from the published algorithm, apart from `lib/upstream/huawei/signer.ts` and on purpose
 * importing nothing from `lib/`: a verifier that reused the product's signer would accept whatever
 * that signer gets wrong. `test/unit/emulator-signature.test.ts` pins it to vectors computed by
 * `test/fixtures/aksk-vectors.py`.
 *
 * Error codes: for IAM-authenticated cloud-service APIs Huawei documents every AK/SK failure as
 * 401 `APIG.0301` "Incorrect IAM authentication information: …" with the detail in the message
 * ("verify aksk signature fail", "Get secretKey failed, … err:ak not exist"; API Gateway FAQ
 * "Common Errors Related to IAM Authentication Information", apig-faq-0003; newer pages spell it
 * `APIGW.0301`). The APP-authentication analogue is `APIG.0303`, whose "signature expired" message
 * shows the 15-minute rule. So every refusal here is 401 `APIG.0301`; the wording of each message
 * after the documented prefix, and the `failure` names, are our choice.
 */

/** Why a request was refused; one name per check, in the order the checks run. */
export type SignatureFailure =
  | 'authorization-missing'
  | 'authorization-malformed'
  | 'required-header-unsigned'
  | 'signed-header-absent'
  | 'date-malformed'
  | 'date-skewed'
  | 'unknown-access-key'
  | 'signature-mismatch';

export type SignatureVerdict =
  | { ok: true; accessKey: string; securityToken?: string; projectId?: string }
  | { ok: false; status: 401; code: 'APIG.0301'; failure: SignatureFailure; reason: string };

export interface VerifySignatureInput {
  method: string;
  /** The path as received, still percent-encoded, without the query. */
  path: string;
  /** The raw query string as received, with or without its `?`; '' when there is none. */
  query: string;
  /** Request headers, names lower-cased (as Node's `IncomingMessage.headers`). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body?: string | Uint8Array;
  /** The secret key of an access key, or undefined when the emulator knows no such key. */
  secretKeyFor: (accessKey: string) => string | undefined;
  /** Server time. */
  now: Date;
  /** How far X-Sdk-Date may be from `now`; Huawei: 15 minutes. */
  maxSkewMs?: number;
}

const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const PREFIX = 'Incorrect IAM authentication information: ';

/**
 * Checks the `Authorization: SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…` of a request.
 * `host` and `x-sdk-date` must be signed, and so must `x-security-token` and `x-project-id` when
 * the request carries them: Huawei's guide requires only `x-sdk-date`, but the product always
 * signs these, and refusing their absence from the list lets the emulator catch a signer that stops.
 * `x-sdk-content-sha256` (Huawei's opt-out from hashing the body) is not honoured: the body is
 * always hashed, since the product never opts out.
 */
export function verifySignature(input: VerifySignatureInput): SignatureVerdict {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(input.headers)) {
    if (value !== undefined) headers.set(name.toLowerCase(), Array.isArray(value) ? value.join(',') : value);
  }

  const authorization = headers.get('authorization');
  if (authorization === undefined) return refuse('authorization-missing', 'Authorization header not found');
  const parsed = parseAuthorization(authorization);
  if (typeof parsed === 'string') return refuse('authorization-malformed', parsed);
  const { accessKey, signedHeaders, signature } = parsed;

  const required = ['host', 'x-sdk-date'];
  for (const optional of ['x-security-token', 'x-project-id']) {
    if (headers.has(optional)) required.push(optional);
  }
  for (const name of required) {
    if (!signedHeaders.includes(name)) {
      return refuse('required-header-unsigned', `${name} is not among the signed headers (SignedHeaders)`);
    }
  }
  for (const name of signedHeaders) {
    if (!headers.has(name)) {
      return refuse('signed-header-absent', `signed header ${name} is not in the request`);
    }
  }

  const dateText = headers.get('x-sdk-date') ?? '';
  const signedAt = readSdkDate(dateText);
  if (signedAt === undefined) {
    return refuse('date-malformed', 'X-Sdk-Date is not a UTC time of the form YYYYMMDDTHHMMSSZ');
  }
  const maxSkewMs = input.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const skewMs = signedAt - input.now.getTime();
  // Written as !(… <= …) so that an invalid `now` (NaN) refuses rather than passes.
  if (!(Math.abs(skewMs) <= maxSkewMs)) {
    return refuse(
      'date-skewed',
      `signature expired: X-Sdk-Date ${dateText} is ${describeSkew(skewMs)} server time ` +
        `${writeSdkDate(input.now)}, more than the ${maxSkewMs / 60_000} minutes allowed`,
    );
  }

  const secretKey = input.secretKeyFor(accessKey);
  // Like Huawei's message, without echoing the access key.
  if (secretKey === undefined) return refuse('unknown-access-key', 'Get secretKey failed, err:ak not exist');

  const canonical = buildCanonicalRequest(input, headers, signedHeaders);
  if (canonical === undefined) {
    return refuse(
      'signature-mismatch',
      'verify aksk signature fail: the path or query is not valid percent-encoding',
    );
  }
  const digest = createHash('sha256').update(canonical, 'utf8').digest('hex');
  const expected = createHmac('sha256', secretKey)
    .update(['SDK-HMAC-SHA256', dateText, digest].join('\n'), 'utf8')
    .digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    // Huawei's gateway logs the canonical request it computed, newlines as '|'; so do we, with the
    // security token (a credential) masked.
    const shown = canonical.replace(/^x-security-token:.*$/m, 'x-security-token:***').replaceAll('\n', '|');
    return refuse('signature-mismatch', `verify aksk signature fail, canonicalRequest:${shown}`);
  }

  const verdict: SignatureVerdict = { ok: true, accessKey };
  const securityToken = headers.get('x-security-token');
  const projectId = headers.get('x-project-id');
  if (securityToken !== undefined) verdict.securityToken = securityToken;
  if (projectId !== undefined) verdict.projectId = projectId;
  return verdict;
}

function refuse(failure: SignatureFailure, detail: string): SignatureVerdict {
  return { ok: false, status: 401, code: 'APIG.0301', failure, reason: PREFIX + detail };
}

interface ParsedAuthorization {
  accessKey: string;
  signedHeaders: string[];
  signature: string;
}

/** The parts of the Authorization value, or a sentence saying what is wrong with it. */
function parseAuthorization(value: string): ParsedAuthorization | string {
  const scheme = 'SDK-HMAC-SHA256 ';
  if (!value.startsWith(scheme)) return 'Authorization is not of the SDK-HMAC-SHA256 scheme';
  const fields = new Map<string, string>();
  for (const part of value.slice(scheme.length).split(',')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === undefined || rest.length !== 1 || fields.has(key)) {
      return 'Authorization is not "SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…"';
    }
    fields.set(key, rest[0] ?? '');
  }
  const accessKey = fields.get('Access');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (fields.size !== 3 || !accessKey || !signedHeaders || signature === undefined) {
    return 'Authorization must have exactly Access, SignedHeaders and Signature';
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) return 'Signature is not 64 lower-case hex digits';
  const names = signedHeaders.split(';');
  const wellFormed = names.every(
    (name, i) => /^[a-z0-9!#$%&'*+\-.^_`|~]+$/.test(name) && (i === 0 || (names[i - 1] ?? '') < name),
  );
  if (!wellFormed) return 'SignedHeaders is not a sorted list of distinct lower-case header names';
  return { accessKey, signedHeaders: names, signature };
}

function buildCanonicalRequest(
  input: VerifySignatureInput,
  headers: Map<string, string>,
  signedHeaders: string[],
): string | undefined {
  let uri: string;
  let query: string;
  try {
    uri = decodeURIComponent(input.path).split('/').map(encodeStrict).join('/');
    query = canonicalQuery(input.query);
  } catch {
    return undefined;
  }
  if (!uri.endsWith('/')) uri += '/';
  const headerLines = signedHeaders.map((name) => `${name}:${(headers.get(name) ?? '').trim()}\n`).join('');
  const payloadHash = createHash('sha256')
    .update(input.body ?? '')
    .digest('hex');
  return `${input.method.toUpperCase()}\n${uri}\n${query}\n${headerLines}\n${signedHeaders.join(';')}\n${payloadHash}`;
}

/** Names and values decoded (`+` is a plus), sorted by code point, name then value, re-encoded. */
function canonicalQuery(raw: string): string {
  const pairs: Array<[string, string]> = [];
  for (const piece of raw.replace(/^\?/, '').split('&')) {
    if (piece === '' || piece.startsWith('=')) continue;
    const cut = piece.includes('=') ? piece.indexOf('=') : piece.length;
    pairs.push([decodeURIComponent(piece.slice(0, cut)), decodeURIComponent(piece.slice(cut + 1))]);
  }
  const order = (a: string, b: string) => {
    const x = [...a].map((c) => c.codePointAt(0) ?? 0);
    const y = [...b].map((c) => c.codePointAt(0) ?? 0);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
    }
    return x.length - y.length;
  };
  pairs.sort(([an, av], [bn, bv]) => order(an, bn) || order(av, bv));
  return pairs.map(([name, value]) => `${encodeStrict(name)}=${encodeStrict(value)}`).join('&');
}

/** RFC 3986: encodeURIComponent also leaves `! ' ( ) *` alone, which the signature must not. */
function encodeStrict(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Milliseconds since the epoch of a valid `YYYYMMDDTHHMMSSZ`, or undefined. */
function readSdkDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
  const ms = Date.parse(iso);
  // Date.parse accepts 2024-02-30 on some engines; a round trip refuses dates that do not exist.
  if (Number.isNaN(ms) || new Date(ms).toISOString() !== iso.replace('Z', '.000Z')) return undefined;
  return ms;
}

function writeSdkDate(date: Date): string {
  if (Number.isNaN(date.getTime())) return '(invalid server clock)';
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function describeSkew(skewMs: number): string {
  const minutes = Math.round((Math.abs(skewMs) / 60_000) * 10) / 10;
  return skewMs < 0 ? `${minutes} minutes behind` : `${minutes} minutes ahead of`;
}
