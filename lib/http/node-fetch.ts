import http from 'node:http';
import https from 'node:https';
import type { FetchLike } from './fetch-text.js';

/** Connections are kept and reused across warm invocations (a stale one fails fast and is retried). */
const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/**
 * {@link FetchLike} on `node:http`/`node:https`: the clients' default. It does what they need and no
 * more, and costs less per request than the global `fetch`, which also loads and compiles undici on
 * the first call of a cold container.
 */
export const nodeFetch: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const request = (secure ? https : http).request(
      target,
      {
        method: init.method,
        headers:
          init.body === undefined
            ? init.headers
            : { ...init.headers, 'Content-Length': Buffer.byteLength(init.body) },
        agent: secure ? agents['https:'] : agents['http:'],
        ...(init.signal && { signal: init.signal }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('close', () => {
          if (!response.complete) reject(new Error('the connection closed before the response was complete'));
        });
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            headers: {
              get: (name) => {
                const value = response.headers[name.toLowerCase()];
                return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
              },
            },
            text: async () => text,
          });
        });
      },
    );
    request.on('error', reject);
    request.end(init.body);
  });
