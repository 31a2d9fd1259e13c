import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets } from '../../lib/upstream/transport/redact.js';

const TOKEN = `MIIEhQYJKoZIhvcNAQcCoIIEdjCCBHICAQExDTALBglghkgBZQMEAgEwggKTBgkqhkiG9w0BBwGgggKEBIICgHsidG9r${'Zw0'.repeat(60)}`;

describe('Function: redactSecrets()', () => {
  it('removes every occurrence of each secret, as sent and URL-encoded', () => {
    const secret = 'tok+en/1=';
    const text = `a ${secret} b ${encodeURIComponent(secret)} c ${secret}`;
    expect(redactSecrets(text, [secret])).toBe(`a ${REDACTED} b ${REDACTED} c ${REDACTED}`);
  });

  it('removes a long token-like run that is not a known secret, e.g. a token cut short upstream', () => {
    const text = `invalid token ${TOKEN.slice(0, 150)}`;
    expect(redactSecrets(text, [])).toBe(`invalid token ${REDACTED}`);
  });

  it('leaves words, ids, paths and long runs of one character class alone', () => {
    const text = `job 03141229-84cd-4b1b-9733-dd124320c125 at /v1/p/instances/i/lf-jobs ${'x'.repeat(300)}`;
    expect(redactSecrets(text, ['not-there'])).toBe(text);
  });

  it('ignores an empty secret', () => {
    expect(redactSecrets('abc', [''])).toBe('abc');
  });
});
