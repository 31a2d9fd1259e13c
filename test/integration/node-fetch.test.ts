import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchText } from '../../lib/upstream/transport/fetch-text.js';
import { nodeFetch } from '../../lib/upstream/transport/node-fetch.js';

/** A server with one route per behaviour the transport must handle. */
let server: Server;
let base: string;
const seen: { method?: string; body: string; headers: Record<string, unknown>; socket: number }[] = [];
let sockets = 0;
let resets = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      // a kept-alive connection this server has since given up on: reset, the request unanswered
      if ((req.socket as { stale?: boolean }).stale || req.url === '/reset') {
        if (req.url === '/reset') resets += 1;
        req.socket.destroy();
        return;
      }
      seen.push({
        method: req.method,
        body,
        headers: req.headers,
        socket: (req.socket as { id?: number }).id ?? 0,
      });
      if (req.url === '/ok') {
        res.writeHead(201, { 'X-Subject-Token': 'abc', 'Content-Type': 'application/json' });
        res.end('{"token":{"expires_at":"2099-01-01T00:00:00Z"}}');
      } else if (req.url === '/last-on-this-connection') {
        res.end('ok');
        (req.socket as { stale?: boolean }).stale = true;
      } else if (req.url === '/stall') {
        res.writeHead(200, { 'Content-Length': '100' });
        res.write('{"partial":');
      } else if (req.url?.startsWith('/huge')) {
        // 64 MiB, chunked (no Content-Length), written as fast as the client reads it
        const declared = req.url === '/huge-declared';
        res.writeHead(202, declared ? { 'Content-Length': String(64 * 1024 * 1024) } : {});
        const chunk = Buffer.alloc(64 * 1024, 'x');
        let left = 1024;
        const pump = () => {
          while (left > 0) {
            left -= 1;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => {
          left = 0;
        });
        pump();
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'Content-Length': '100' });
        res.write('{"partial":');
        setTimeout(() => req.socket.destroy(), 10);
      }
    });
  });
  server.on('connection', (socket) => {
    (socket as { id?: number }).id = ++sockets;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const failures = {
  timeout: (ms: number) => new Error(`timeout ${ms}`),
  network: (cause: unknown) => new Error(`network ${String(cause)}`),
  tooLarge: (max: number) => new Error(`too large ${max}`),
};

describe('Function: nodeFetch()', () => {
  it('sends a request that meets a kept-alive connection reset before any answer again, on another', async () => {
    await nodeFetch(`${base}/last-on-this-connection`, { method: 'GET', headers: {} });
    const connections = sockets;

    const response = await nodeFetch(`${base}/ok`, { method: 'POST', headers: {}, body: '{}' });

    expect(response.status).toBe(201);
    expect(sockets).toBe(connections + 1);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', socket: connections + 1 });
  });

  it('reports a reset of a new connection, sending the request no more than once more', async () => {
    const before = resets;

    await expect(
      nodeFetch(`${base}/reset`, { method: 'POST', headers: {}, body: '{}' }),
    ).rejects.toMatchObject({
      code: 'ECONNRESET',
    });
    // once on a kept-alive connection from an earlier test, at most once more on a new one
    expect(resets - before).toBeGreaterThanOrEqual(1);
    expect(resets - before).toBeLessThanOrEqual(2);
  });

  it('sends method, headers and body, and returns status, headers and text', async () => {
    const response = await nodeFetch(`${base}/ok`, {
      method: 'POST',
      headers: { 'X-Auth-Token': 't1' },
      body: '{"a":1}',
    });

    expect(response.status).toBe(201);
    expect(response.headers.get('X-Subject-Token')).toBe('abc');
    expect(response.headers.get('missing')).toBeNull();
    expect(JSON.parse(await response.text())).toEqual({ token: { expires_at: '2099-01-01T00:00:00Z' } });
    expect(seen.at(-1)).toMatchObject({
      method: 'POST',
      body: '{"a":1}',
      headers: { 'x-auth-token': 't1', 'content-length': '7' },
    });
  });

  it('reuses the connection for the next request (keep-alive)', async () => {
    await nodeFetch(`${base}/ok`, { method: 'GET', headers: {} });
    await nodeFetch(`${base}/ok`, { method: 'GET', headers: {} });
    expect(seen.at(-1)?.socket).toBe(seen.at(-2)?.socket);
  });

  it('times out a body that stalls half-way, through fetchText', async () => {
    await expect(
      fetchText(nodeFetch, `${base}/stall`, { method: 'GET', headers: {} }, 100, failures),
    ).rejects.toThrow('timeout 100');
  });

  it('fails a response whose connection is cut before the end', async () => {
    await expect(
      fetchText(nodeFetch, `${base}/cut`, { method: 'GET', headers: {} }, 5_000, failures),
    ).rejects.toThrow(/^network/);
  });

  it('cuts off a chunked body longer than maxBodyBytes without buffering it, through fetchText', async () => {
    // Prepare
    const before = process.memoryUsage().rss;
    // Act
    const error = await fetchText(
      nodeFetch,
      `${base}/huge`,
      { method: 'POST', headers: {}, maxBodyBytes: 1024 * 1024 },
      10_000,
      failures,
    ).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ message: `too large ${1024 * 1024}` });
    // 64 MiB were on offer; reading stopped at the limit
    expect(process.memoryUsage().rss - before).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a body whose Content-Length is over maxBodyBytes before reading it', async () => {
    await expect(
      nodeFetch(`${base}/huge-declared`, { method: 'GET', headers: {}, maxBodyBytes: 1000 }),
    ).rejects.toMatchObject({ name: 'BodyTooLargeError', maxBytes: 1000 });
  });

  it('fetchText caps bodies at 1 MiB by default', async () => {
    await expect(
      fetchText(nodeFetch, `${base}/huge`, { method: 'GET', headers: {} }, 10_000, failures),
    ).rejects.toThrow(`too large ${1024 * 1024}`);
  });

  it('fails to connect to a closed port as a network error', async () => {
    await expect(
      fetchText(nodeFetch, 'http://127.0.0.1:1/x', { method: 'GET', headers: {} }, 5_000, failures),
    ).rejects.toThrow(/^network .*ECONNREFUSED/);
  });
});
