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
});
