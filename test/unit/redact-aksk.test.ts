import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets } from '../../lib/upstream/transport/redact.js';

const SIGNATURE = '3f6c1b2a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a291807';

describe('Function: redactSecrets(), AK/SK requests', () => {
  it('removes the canonical request a gateway quotes when it refuses a signature', () => {
    const text =
      'Incorrect IAM authentication information: verify aksk signature fail, canonicalRequest:GET|/v1/p/instances/i/lf-jobs/j/|host:lf.example.com|x-security-token:***|x-sdk-date:20261128T120000Z||host;x-sdk-date|e3b0c442';
    expect(redactSecrets(text, [])).toBe(
      `Incorrect IAM authentication information: verify aksk signature fail, canonicalRequest:${REDACTED}`,
    );
  });

  it.each([
    ['StringToSign: SDK-HMAC-SHA256|20261128T120000Z|abc then more', `StringToSign: ${REDACTED} then more`],
    ['string_to_sign=SDK-HMAC-SHA256', `string_to_sign=${REDACTED}`],
    ['Canonical Request: GET|/', `Canonical Request: ${REDACTED}`],
  ])('removes a quoted signature input: %j', (text, expected) => {
    expect(redactSecrets(text, [])).toBe(expected);
  });

  it('removes any signature of an echoed Authorization header, known or not', () => {
    const text = `got Authorization: SDK-HMAC-SHA256 Access=HPUAKEY, SignedHeaders=host;x-sdk-date, Signature=${SIGNATURE}`;
    expect(redactSecrets(text, [])).toBe(
      `got Authorization: SDK-HMAC-SHA256 Access=HPUAKEY, SignedHeaders=host;x-sdk-date, Signature=${REDACTED}`,
    );
  });

  it('removes the secret key, security token and signature passed, wherever they appear', () => {
    const secrets = ['unit-sk-value', 'unit-security-token', SIGNATURE];
    const text = `sk unit-sk-value, token unit-security-token, sig ${SIGNATURE}.`;
    expect(redactSecrets(text, secrets)).toBe(`sk ${REDACTED}, token ${REDACTED}, sig ${REDACTED}.`);
  });

  it('leaves a request id, a 64-hex body hash without Signature= and plain words alone', () => {
    const text = `request 0123456789abcdef0123456789abcdef failed; body hash ${SIGNATURE}; signature mismatch`;
    expect(redactSecrets(text, [])).toBe(text);
  });
});
