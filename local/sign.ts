import { readFileSync } from 'node:fs';
import { isMain } from '../cli/is-main.js';
import { signature } from '../lib/edge/http/caller-auth.js';

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

// `npm run sign -- <jobId> [http://127.0.0.1:3000]`: a fresh signed curl for the running local stack.
if (isMain(import.meta.url)) {
  const [jobId, url = 'http://127.0.0.1:3000'] = process.argv.slice(2);
  if (!jobId) {
    console.error('usage: npm run sign -- <jobId> [http url]');
    process.exit(2);
  }
  console.log(signedCurl(url, jobId));
}
