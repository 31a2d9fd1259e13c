import type { FetchLike } from '../../lib/upstream/transport/fetch-text.js';

/** One scripted answer of {@link fakeFetch}. */
export type FakeAnswer =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { network: string }
  | { hang: true };

export interface FakeCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * A `fetch` that answers from a script, in order, and records every call. A `hang` answer never
 * resolves until the request is aborted, like a stalled server.
 */
export function fakeFetch(answers: FakeAnswer[]): FetchLike & { calls: FakeCall[] } {
  const queue = [...answers];
  const calls: FakeCall[] = [];
  const fn = async (url: string, init: RequestInit): Promise<Response> => {
    calls.push({
      url,
      method: init.method ?? 'GET',
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      ...(typeof init.body === 'string' && { body: init.body }),
    });
    const answer = queue.shift();
    if (answer === undefined)
      throw new Error(`fakeFetch: no answer scripted for call ${calls.length} (${url})`);
    if ('network' in answer) {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error(answer.network), { code: answer.network }),
      });
    }
    if ('hang' in answer) {
      return new Promise((_, reject) => {
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    }
    const text =
      answer.body === undefined
        ? null
        : typeof answer.body === 'string'
          ? answer.body
          : JSON.stringify(answer.body);
    return new Response(text, { status: answer.status, headers: answer.headers });
  };
  return Object.assign(fn, { calls });
}

/** A token source that hands out `token-1`, `token-2`, … and records invalidations. */
export function countingTokens() {
  let n = 1;
  const invalidated: string[] = [];
  return {
    invalidated,
    get issued() {
      return n - 1;
    },
    async getToken() {
      return `token-${n}`;
    },
    invalidate(token: string) {
      invalidated.push(token);
      if (token === `token-${n}`) n += 1;
    },
  };
}
