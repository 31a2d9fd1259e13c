import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isMain } from '../cli/is-main.js';
import { signature } from '../lib/edge/http/caller-auth.js';
import { isValidId } from '../lib/upstream/lakeformation/ids.js';
import { HELP_OPTION, parseCommandLine, runCli, UsageError } from './cli.js';

/** A ready-to-paste curl that stops `jobId` through the local HTTP endpoint, signed now (valid ±300 s). */
export function signedCurl(httpUrl: string, jobId: string, reason = 'stopped from the local stack'): string {
  const config = JSON.parse(readFileSync(new URL('./seed/stack.json', import.meta.url), 'utf8')) as {
    webhook: { hmacKeys: string[] };
  };
  const key = config.webhook.hmacKeys[0] ?? '';
  const body = JSON.stringify({ jobId, reason });
  const timestamp = String(Math.floor(Date.now() / 1000));
  return [
    `curl -sS -X POST ${httpUrl}/jobs/${jobId}/stop`,
    `  -H 'Content-Type: application/json'`,
    `  -H 'X-Timestamp: ${timestamp}'`,
    `  -H 'X-Signature: ${signature(key, timestamp, body)}'`,
    `  -d '${body}'`,
  ].join(' \\\n');
}

const USAGE = `usage: npm run sign -- <jobId> [--url <http url>]

  Prints a curl that stops <jobId> through the local stack's HTTP API (default http://127.0.0.1:3000),
  signed now with the local HMAC key (valid for 5 minutes).`;

// `npm run sign -- <jobId> [http://127.0.0.1:3000]`: a fresh signed curl for the running local stack.
if (isMain(import.meta.url)) {
  runCli(async () => {
    const { positionals, values } = parseCommandLine(USAGE, () =>
      parseArgs({
        args: process.argv.slice(2),
        options: { ...HELP_OPTION, url: { type: 'string' } },
        allowPositionals: true,
        strict: true,
      }),
    );
    // the URL as a flag (as npm run stops takes it) or, as before, a second argument
    const [jobId, positionalUrl, ...rest] = positionals;
    if (jobId === undefined || rest.length > 0) throw new UsageError(USAGE);
    if (values.url !== undefined && positionalUrl !== undefined) throw new UsageError(USAGE);
    const url = values.url ?? positionalUrl ?? 'http://127.0.0.1:3000';
    if (!isValidId(jobId)) {
      throw new UsageError(`the job id must be 1-64 letters, digits or dashes, got ${JSON.stringify(jobId)}`);
    }
    let base: URL;
    try {
      base = new URL(url);
    } catch {
      throw new UsageError(
        `the url must be the local HTTP API such as http://127.0.0.1:3000, got ${JSON.stringify(url)}`,
      );
    }
    process.stdout.write(`${signedCurl(base.origin, jobId)}\n`);
    return 0;
  });
}
