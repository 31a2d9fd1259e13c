import { afterAll, expect } from 'vitest';
import { capturedLogLines, otherOutput, secretsInLogs } from './logs.js';

/**
 * Runs before every test file: the Powertools logger (at DEBUG, see vitest.config.ts) and metrics
 * write JSON lines to stdout/stderr; they are kept in memory instead of flooding the test output. Anything else
 * written there is passed through. After the file has run both are scanned for the secrets the tests
 * registered: a hit fails the file.
 */
function intercept(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    // Powertools log lines and EMF metric lines
    if (!text.startsWith('{"level":') && !text.startsWith('{"_aws":')) {
      otherOutput.push(text);
      return write(chunk, ...rest);
    }
    for (const line of text.split('\n')) if (line !== '') capturedLogLines.push(line);
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write;
}

intercept(process.stdout);
intercept(process.stderr);

afterAll(() => {
  expect(secretsInLogs(), 'secrets found in log output').toEqual([]);
});
