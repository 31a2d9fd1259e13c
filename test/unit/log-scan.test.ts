import { describe, expect, it } from 'vitest';
import { logger } from '../../lib/platform/logger.js';
import { capturedLogLines, otherOutput, registerSecret, secretsInLogs } from '../support/logs.js';

/** The secret scan every test file ends with (test/support/log-capture-setup.ts) sees all output. */
describe('the log secret scan', () => {
  it('finds a registered secret in a JSON log line and in any other output, then forgets both', () => {
    const secret = 'log-scan-self-test-value';
    registerSecret(secret);
    const lines = capturedLogLines.length;
    const other = otherOutput.length;

    logger.info('self-test', { value: secret });
    process.stderr.write(`log scan self-test, plain text: ${secret}\n`);
    const hits = secretsInLogs();
    // leave nothing behind for the file's own scan
    capturedLogLines.splice(lines);
    otherOutput.splice(other);

    expect(hits).toHaveLength(2);
    expect(secretsInLogs()).toEqual([]);
  });

  it("finds a signature's input and a signature whatever key made them, and passes them redacted", () => {
    const lines = capturedLogLines.length;
    logger.warn('refused', { detail: 'verify aksk signature fail, canonicalRequest:POST|/v1/p/x|' });
    logger.warn('refused', { detail: `Authorization: SDK-HMAC-SHA256 Signature=${'ab'.repeat(32)}` });
    logger.warn('refused', { detail: 'verify aksk signature fail, canonicalRequest:[REDACTED]' });
    logger.warn('refused', { detail: 'SDK-HMAC-SHA256 Signature=[REDACTED]' });
    const hits = secretsInLogs();
    capturedLogLines.splice(lines);

    expect(hits.map((hit) => hit.split(' in ')[0])).toEqual(['signature input', 'signature']);
  });
});
