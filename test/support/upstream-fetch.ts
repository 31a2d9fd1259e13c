import type { FakeAnswer } from './fake-fetch.js';

type Answer = FakeAnswer | ((jobId: string, token?: string) => FakeAnswer);

/**
 * A `fetch` standing in for IAM and LakeFormation by route, for handler unit tests without a network.
 * IAM always issues `token-N`; `onStop` and `onGet` decide LakeFormation's answers per job, `onList` to
 * job lists (an instance with no jobs by default). A rule may be a function of the job id and the
 * token the request carried (to echo it back, as a misbehaving upstream would).
 */
export function upstreamFetch() {
  const calls: { kind: 'iam' | 'stop' | 'get' | 'list' | 'other'; url: string; token?: string }[] = [];
  let issued = 0;
  const state = {
    calls,
    onStop: ((): FakeAnswer => ({ status: 202 })) as Answer,
    onGet: ((jobId: string): FakeAnswer => ({
      status: 200,
      body: { id: jobId, name: 'job', type: 'METADATA_MIGRATION', status: 'RUNNING' },
    })) as Answer,
    onList: { status: 200, body: { total: 0, jobs: [] } } as FakeAnswer,
    count(kind: 'iam' | 'stop' | 'get' | 'list') {
      return calls.filter((call) => call.kind === kind).length;
    },
    fetch: async (url: string, init: RequestInit): Promise<Response> => {
      const token = new Headers(init.headers).get('x-auth-token') ?? undefined;
      if (url.includes('/v3/auth/tokens')) {
        calls.push({ kind: 'iam', url });
        issued += 1;
        return new Response(
          JSON.stringify({ token: { expires_at: new Date(Date.now() + 86_400_000).toISOString() } }),
          {
            status: 201,
            headers: { 'X-Subject-Token': `token-${issued}` },
          },
        );
      }
      const stop = /\/lf-jobs\/([^/]+)\/stop$/.exec(url);
      const get = /\/lf-jobs\/([^/?]+)$/.exec(url);
      const list = /\/lf-jobs\?/.test(url);
      const kind = stop ? 'stop' : get ? 'get' : list ? 'list' : 'other';
      calls.push({ kind, url, ...(token !== undefined && { token }) });
      const jobId = decodeURIComponent((stop ?? get)?.[1] ?? '');
      const rule = kind === 'stop' ? state.onStop : kind === 'list' ? state.onList : state.onGet;
      const answer = typeof rule === 'function' ? rule(jobId, token) : rule;
      if ('network' in answer)
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error(answer.network), { code: answer.network }),
        });
      if ('hang' in answer) {
        return new Promise((_, reject) =>
          init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
        );
      }
      // a string is sent as it is (an HTML page, invalid JSON); anything else as JSON
      const body =
        answer.body === undefined
          ? null
          : typeof answer.body === 'string'
            ? answer.body
            : JSON.stringify(answer.body);
      return new Response(body, { status: answer.status, headers: answer.headers });
    },
  };
  return state;
}
