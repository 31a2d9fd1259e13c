import http from 'node:http';
import https from 'node:https';
import { BodyTooLargeError, type FetchLike } from './fetch-text.js';

/** Connections are kept and reused across warm invocations (a stale one fails fast and is retried). */
const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/**
 * Times a request is sent again at once, on another connection, when the kept-alive connection it was
 * written to is reset before any answer: what a connection the peer closed while it sat idle (e.g.
 * while the Lambda sandbox was frozen) gives. The pool may hold more such connections.
 */
const STALE_CONNECTION_RETRIES = 3;

/** An error from writing to a connection the peer had already closed. */
function isStaleConnection(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/**
 * {@link FetchLike} on `node:http`/`node:https`: the clients' default. It does what they need and no
 * more, and costs less per request than the global `fetch`, which also loads and compiles undici on
 * the first call of a cold container. A request that meets a stale kept-alive connection is sent
 * again at once on another. A body longer than `maxBodyBytes` is never buffered: the answer is cut
 * off at the limit (or at once, when its `Content-Length` says so).
 */
export const nodeFetch: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const send = (staleRetries: number) => {
      let answered = false;
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
          answered = true;
          const max = init.maxBodyBytes ?? Number.POSITIVE_INFINITY;
          const tooLarge = () => {
            reject(new BodyTooLargeError(max));
            // the rest is never read: the connection cannot be reused, so it is closed
            response.destroy();
          };
          if (Number(response.headers['content-length'] ?? 0) > max) return tooLarge();
          const chunks: Buffer[] = [];
          let length = 0;
          response.on('data', (chunk: Buffer) => {
            length += chunk.length;
            if (length > max) return tooLarge();
            chunks.push(chunk);
          });
          response.on('error', reject);
          response.on('close', () => {
            if (!response.complete)
              reject(new Error('the connection closed before the response was complete'));
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
      request.on('error', (error) => {
        if (
          !answered &&
          request.reusedSocket &&
          isStaleConnection(error) &&
          staleRetries > 0 &&
          !init.signal?.aborted
        ) {
          send(staleRetries - 1);
          return;
        }
        reject(error);
      });
      request.end(init.body);
    };
    send(STALE_CONNECTION_RETRIES);
  });
