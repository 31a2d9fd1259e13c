/** Every JSON log line the Powertools logger wrote in this test file (see log-capture-setup.ts). */
export const capturedLogLines: string[] = [];
/** Everything else written to stdout and stderr in this test file: passed through, but scanned too. */
export const otherOutput: string[] = [];

/** Secrets the tests use; none of them may ever appear in a log line. */
const secrets = new Set<string>(['integration-test-password', 'local-demo-password']);
/** Tokens issued by the emulator look like this. */
const EMULATOR_TOKEN = /MIIemu[0-9a-f]{16,}/;

/** Marks `value` as a secret that must never be logged (passwords, tokens, caller keys). */
export function registerSecret(...values: string[]): void {
  for (const value of values) secrets.add(value);
}

/**
 * An AK/SK signature's input (a canonical request or string to sign, as a gateway quotes it) or a
 * signature as an `Authorization` header shows it, not redacted: whatever key signed it.
 */
const SIGNATURE_INPUT = /\b(?:canonical[ _-]?request|string[ _-]?to[ _-]?sign)\s*[:=]\s*(?!\[REDACTED\])\S/i;
const SIGNATURE = /\bSignature=[0-9a-fA-F]{64}\b/;

/** Log lines holding a registered secret, an emulator token or a signature or its input, with what was found. */
export function secretsInLogs(): string[] {
  const hits: string[] = [];
  for (const line of [...capturedLogLines, ...otherOutput]) {
    for (const secret of secrets)
      if (line.includes(secret)) hits.push(`${secret.slice(0, 4)}… in ${line.slice(0, 200)}`);
    if (EMULATOR_TOKEN.test(line)) hits.push(`emulator token in ${line.slice(0, 200)}`);
    if (SIGNATURE_INPUT.test(line)) hits.push(`signature input in ${line.slice(0, 200)}`);
    if (SIGNATURE.test(line)) hits.push(`signature in ${line.slice(0, 200)}`);
  }
  return hits;
}

/** Log lines written from now on, parsed. */
export function captureLogs() {
  const start = capturedLogLines.length;
  return {
    get lines(): Record<string, unknown>[] {
      return capturedLogLines.slice(start).map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}

/**
 * The metrics published as CloudWatch EMF among `lines`, summed by name (a metric added n times in one
 * publication arrives as an array of n values).
 */
export function emfTotals(lines: Record<string, unknown>[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const line of lines) {
    const aws = line._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined;
    for (const directive of aws?.CloudWatchMetrics ?? []) {
      for (const { Name } of directive.Metrics) {
        const values = ([] as unknown[]).concat(line[Name]);
        totals[Name] = (totals[Name] ?? 0) + values.reduce((sum: number, value) => sum + Number(value), 0);
      }
    }
  }
  return totals;
}
