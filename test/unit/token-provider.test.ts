import { afterEach, describe, expect, it } from 'vitest';
import { resetContainer } from '../../lib/container/container.js';
import type { Credentials, CredentialsLoader } from '../../lib/upstream/huawei/credentials.js';
import { CredentialsRejectedError, IamUnavailableError } from '../../lib/upstream/huawei/errors.js';
import { createTokenProvider, type TokenProviderOptions } from '../../lib/upstream/huawei/token-provider.js';
import { type FakeAnswer, fakeFetch } from '../support/fake-fetch.js';
import { captureLogs } from '../support/logs.js';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const IAM = 'https://iam.cn-north-4.myhuaweicloud.com';
const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);

function loader(credentials: Credentials | (() => Credentials)) {
  const state = { loads: 0, invalidations: 0 };
  const source: CredentialsLoader = {
    async load() {
      state.loads += 1;
      return typeof credentials === 'function' ? credentials() : credentials;
    },
    invalidate() {
      state.invalidations += 1;
    },
  };
  return Object.assign(source, { state });
}

const PASSWORD: Credentials = {
  kind: 'password',
  userName: 'stopper',
  password: 's3cret!',
  domainName: 'acme',
};

function issued(token: string, expiresAt: string): FakeAnswer {
  return {
    status: 201,
    headers: { 'X-Subject-Token': token },
    body: {
      token: { expires_at: expiresAt, issued_at: '2026-11-28T12:00:00.000000Z', methods: ['password'] },
    },
  };
}

function setup(answers: FakeAnswer[], options: Partial<TokenProviderOptions> = {}) {
  const fetch = fakeFetch(answers);
  const clock = { now: NOW };
  const credentials = loader(PASSWORD);
  const provider = createTokenProvider({
    iamEndpoint: IAM,
    projectId: PROJECT,
    credentials,
    fetch,
    timing: { now: () => clock.now, sleep: async () => {}, random: () => 0 },
    ...options,
  });
  return { provider, fetch, clock, credentials };
}

afterEach(() => resetContainer());

describe('Function: createTokenProvider()', () => {
  it('sends the documented password-auth body, project-scoped by id', async () => {
    const { provider, fetch } = setup([issued('tok-A', '2026-11-29T12:00:00.000000Z')]);

    const token = await provider.getToken();

    expect(token).toBe('tok-A');
    expect(fetch.calls).toHaveLength(1);
    expect(fetch.calls[0]?.url).toBe(`${IAM}/v3/auth/tokens?nocatalog=true`);
    expect(fetch.calls[0]?.method).toBe('POST');
    expect(fetch.calls[0]?.headers).toMatchObject({
      'content-type': 'application/json;charset=utf8',
      'user-agent': 'lf-job-stopper',
    });
    expect(JSON.parse(fetch.calls[0]?.body ?? '')).toEqual({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'stopper', password: 's3cret!', domain: { name: 'acme' } } },
        },
        scope: { project: { id: PROJECT } },
      },
    });
  });

  it('makes one IAM call for 50 concurrent callers', async () => {
    const { provider, fetch } = setup([issued('tok-A', '2026-11-29T12:00:00Z')]);

    const tokens = await Promise.all(Array.from({ length: 50 }, () => provider.getToken()));

    expect(new Set(tokens)).toEqual(new Set(['tok-A']));
    expect(fetch.calls).toHaveLength(1);
  });

  it('shares the cache between providers for the same IAM endpoint and project (warm invocations)', async () => {
    const first = setup([issued('tok-A', '2026-11-29T12:00:00Z')]);
    await first.provider.getToken();
    const second = setup([issued('tok-B', '2026-11-29T12:00:00Z')]);

    expect(await second.provider.getToken()).toBe('tok-A');
    expect(second.fetch.calls).toHaveLength(0);
  });

  it('keeps tokens of different projects apart', async () => {
    const first = setup([issued('tok-A', '2026-11-29T12:00:00Z')]);
    await first.provider.getToken();
    const other = setup([issued('tok-B', '2026-11-29T12:00:00Z')], { projectId: 'ffff0000' });

    expect(await other.provider.getToken()).toBe('tok-B');
  });

  it('reuses a token while more than 5 minutes are left, and refreshes it after', async () => {
    // expires 10 minutes from NOW, microsecond precision as IAM sends it
    const { provider, fetch, clock } = setup([
      issued('tok-A', '2026-11-28T12:10:00.123456Z'),
      issued('tok-B', '2026-11-29T12:00:00.000000Z'),
    ]);
    expect(await provider.getToken()).toBe('tok-A');

    clock.now = NOW + 5 * 60_000; // 5 min 0.123 s left: still used
    expect(await provider.getToken()).toBe('tok-A');

    clock.now = NOW + 5 * 60_000 + 124; // just under 5 min left: never used
    expect(await provider.getToken()).toBe('tok-B');
    expect(fetch.calls).toHaveLength(2);
  });

  describe("a clock that differs from IAM's", () => {
    const HOUR = 3_600_000;
    const at = (ms: number) => new Date(ms).toISOString();
    /** A 24 h token issued by an IAM whose clock reads `iamNow` while ours reads NOW. */
    const skewed = (token: string, iamNow: number, via: 'issued_at' | 'Date'): FakeAnswer => ({
      status: 201,
      headers: {
        'X-Subject-Token': token,
        ...(via === 'Date' && { Date: new Date(iamNow).toUTCString() }),
      },
      body: {
        token: { expires_at: at(iamNow + 24 * HOUR), ...(via === 'issued_at' && { issued_at: at(iamNow) }) },
      },
    });

    it.each(['issued_at', 'Date'] as const)(
      'uses a token whose expires_at is already past by our clock, judging its lifetime by IAM (%s)',
      async (via) => {
        // Prepare: our clock runs 25 h ahead of IAM's
        const logs = captureLogs();
        const { provider, fetch, clock } = setup([
          skewed('tok-A', NOW - 25 * HOUR, via),
          issued('tok-B', at(NOW)),
        ]);
        // Act
        const tokens = [await provider.getToken(), await provider.getToken()];
        clock.now = NOW + 23 * HOUR;
        tokens.push(await provider.getToken());
        // Assess
        expect(tokens).toEqual(['tok-A', 'tok-A', 'tok-A']);
        expect(fetch.calls).toHaveLength(1);
        expect(logs.lines).toContainEqual(
          expect.objectContaining({ level: 'WARN', clockSkewSeconds: 25 * 3600 }),
        );
      },
    );

    it("refreshes by IAM's lifetime when our clock runs behind, not later", async () => {
      // Prepare: our clock runs 2 h behind IAM's, so expires_at looks 26 h away
      const { provider, fetch, clock } = setup([
        skewed('tok-A', NOW + 2 * HOUR, 'issued_at'),
        issued('tok-B', '2026-11-30T12:00:00Z'),
      ]);
      expect(await provider.getToken()).toBe('tok-A');
      // Act: 23 h 56 min later, under 5 min of its 24 h are left
      clock.now = NOW + 24 * HOUR - 4 * 60_000;
      // Assess
      expect(await provider.getToken()).toBe('tok-B');
      expect(fetch.calls).toHaveLength(2);
    });

    it('logs no skew when the clocks agree', async () => {
      const logs = captureLogs();
      const { provider } = setup([skewed('tok-A', NOW - 2_000, 'issued_at')]);
      await provider.getToken();
      expect(logs.lines.filter((line) => 'clockSkewSeconds' in line)).toEqual([]);
    });
  });

  it('reads expires_at with microseconds to the millisecond', async () => {
    const { provider, clock } = setup([
      issued('tok-A', '2026-11-28T12:05:00.000999Z'),
      issued('tok-B', '2026-11-29T12:00:00Z'),
    ]);
    await provider.getToken();
    // exactly 5 min left: still good (the 999 µs round down to 0 ms)
    clock.now = NOW;
    expect(await provider.getToken()).toBe('tok-A');
    clock.now = NOW + 1;
    expect(await provider.getToken()).toBe('tok-B');
  });

  it('fetches a new token after invalidate (LakeFormation answered 401)', async () => {
    const { provider, fetch } = setup([
      issued('tok-A', '2026-11-29T12:00:00Z'),
      issued('tok-B', '2026-11-29T12:00:00Z'),
    ]);
    await provider.getToken();

    provider.invalidate('tok-A');

    expect(await provider.getToken()).toBe('tok-B');
    expect(fetch.calls).toHaveLength(2);
  });

  it('ignores invalidation of a token that was already replaced', async () => {
    const { provider, fetch } = setup([
      issued('tok-A', '2026-11-29T12:00:00Z'),
      issued('tok-B', '2026-11-29T12:00:00Z'),
    ]);
    await provider.getToken();
    provider.invalidate('tok-A');
    await provider.getToken();

    provider.invalidate('tok-A');

    expect(await provider.getToken()).toBe('tok-B');
    expect(fetch.calls).toHaveLength(2);
  });

  it('retries IAM 5xx and network errors', async () => {
    const { provider, fetch } = setup([
      { status: 503 },
      { network: 'ECONNRESET' },
      issued('tok-A', '2026-11-29T12:00:00Z'),
    ]);
    expect(await provider.getToken()).toBe('tok-A');
    expect(fetch.calls).toHaveLength(3);
  });

  it.each([408, 429])(
    'retries IAM %i as a passing failure: the credentials are neither refused nor read again',
    async (status) => {
      const { provider, fetch, credentials } = setup([{ status }, issued('tok-A', '2026-11-29T12:00:00Z')]);
      expect(await provider.getToken()).toBe('tok-A');
      expect(fetch.calls).toHaveLength(2);
      expect(credentials.state.invalidations).toBe(0);
    },
  );

  it('reports IAM throttling that outlasts its retries as IAM unavailable', async () => {
    const { provider, credentials } = setup([{ status: 429 }, { status: 429 }], {
      retry: { maxAttempts: 2 },
    });
    const error = await provider.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IamUnavailableError);
    expect((error as IamUnavailableError).message).toContain('HTTP 429');
    expect(credentials.state.invalidations).toBe(0);
  });

  it('reports IAM unavailable after its retries', async () => {
    const { provider } = setup([{ status: 500 }, { status: 500 }], { retry: { maxAttempts: 2 } });
    await expect(provider.getToken()).rejects.toBeInstanceOf(IamUnavailableError);
  });

  it('reports refused credentials and drops the cached secret so a rotation is picked up', async () => {
    const { provider, credentials } = setup([
      { status: 401, body: { error: { code: 401, message: 'The username or password is wrong.' } } },
    ]);
    const error = await provider.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsRejectedError);
    expect((error as CredentialsRejectedError).status).toBe(401);
    expect(credentials.state.invalidations).toBe(1);
  });

  it('lets every waiting caller see the failure, then tries again on the next call', async () => {
    const { provider, fetch } = setup([{ status: 403 }, issued('tok-A', '2026-11-29T12:00:00Z')]);
    const results = await Promise.allSettled([provider.getToken(), provider.getToken(), provider.getToken()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await provider.getToken()).toBe('tok-A');
    expect(fetch.calls).toHaveLength(2);
  });

  it('gives up on a hanging IAM by the caller’s deadline, as a timeout', async () => {
    const { provider } = setup([{ hang: true }, { hang: true }], { timing: {}, timeoutMs: 60_000 });
    const started = Date.now();

    const error = await provider.getToken(Date.now() + 150).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(IamUnavailableError);
    expect((error as IamUnavailableError).timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('lets a caller joining a slow sign-in leave at its own deadline', async () => {
    let release: (answer: Response) => void = () => {};
    const fetch = Object.assign(
      () =>
        new Promise<Response>((resolve) => {
          release = resolve;
        }),
      { calls: [] },
    );
    const provider = createTokenProvider({
      iamEndpoint: IAM,
      projectId: PROJECT,
      credentials: loader(PASSWORD),
      fetch,
    });
    const patient = provider.getToken();
    const hurried = provider.getToken(Date.now() + 50);

    await expect(hurried).rejects.toMatchObject({ name: 'IamUnavailableError', timedOut: true });
    release(
      new Response(JSON.stringify({ token: { expires_at: '2099-01-01T00:00:00Z' } }), {
        status: 201,
        headers: { 'X-Subject-Token': 'tok-late' },
      }),
    );
    expect(await patient).toBe('tok-late');
  });

  describe('prepare()', () => {
    it('reads the credentials ahead of getToken without asking IAM for a token', async () => {
      const { provider, fetch, credentials } = setup([issued('tok-A', '2026-11-29T12:00:00Z')]);

      provider.prepare?.();
      await Promise.resolve();

      expect(credentials.state.loads).toBe(1);
      expect(fetch.calls).toHaveLength(0);
      expect(await provider.getToken()).toBe('tok-A');
      expect(fetch.calls).toHaveLength(1);
    });

    it('reads nothing while a usable token is cached, and again once it is near expiry', async () => {
      const { provider, credentials, clock } = setup([issued('tok-A', '2026-11-28T12:10:00Z')]);
      await provider.getToken();

      provider.prepare?.();
      const loadsWithToken = credentials.state.loads;
      clock.now = NOW + 6 * 60_000; // under 5 minutes left
      provider.prepare?.();

      expect(loadsWithToken).toBe(1);
      expect(credentials.state.loads).toBe(2);
    });

    it('reads nothing while a sign-in is under way', async () => {
      const { provider, credentials } = setup([issued('tok-A', '2026-11-29T12:00:00Z')]);
      const token = provider.getToken();

      provider.prepare?.();

      expect(credentials.state.loads).toBe(1);
      expect(await token).toBe('tok-A');
    });

    it('never throws: a failing read is reported by the getToken that follows', async () => {
      const failing: CredentialsLoader = {
        load: () => Promise.reject(new CredentialsRejectedError('secret unreadable', 403)),
        invalidate: () => {},
      };
      const fetch = fakeFetch([]);
      const provider = createTokenProvider({
        iamEndpoint: IAM,
        projectId: PROJECT,
        credentials: failing,
        fetch,
      });

      expect(() => provider.prepare?.()).not.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 0));

      await expect(provider.getToken()).rejects.toThrow('secret unreadable');
      expect(fetch.calls).toHaveLength(0);
    });
  });

  it('refuses a token answer over 1 MiB as IAM failing, and caches nothing from it', async () => {
    const huge = { token: { expires_at: '2026-11-29T12:00:00Z', padding: 'x'.repeat(1024 * 1024) } };
    const answer = { status: 201, headers: { 'X-Subject-Token': 'tok-huge' }, body: huge };
    const { provider, fetch } = setup([
      answer,
      answer,
      answer,
      answer,
      issued('tok-B', '2026-11-29T12:00:00Z'),
    ]);
    const error = await provider.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IamUnavailableError);
    expect((error as Error).message).toContain('longer than 1048576 bytes');
    // the next call asks IAM again: the oversized answer's token was never taken
    expect(await provider.getToken()).toBe('tok-B');
    expect(fetch.calls.length).toBeGreaterThan(1);
  });

  it('treats an answer without X-Subject-Token as IAM failing', async () => {
    const { provider } = setup([{ status: 201, body: { token: { expires_at: '2026-11-29T12:00:00Z' } } }]);
    await expect(provider.getToken()).rejects.toBeInstanceOf(IamUnavailableError);
  });

  it.each([
    ['no expires_at', { token: {} }],
    ['an expires_at that is not a time', { token: { expires_at: 'tomorrow' } }],
    ['a body that is not JSON', 'created'],
  ])('treats a token with %s as IAM failing, rather than a token that never expires', async (_name, body) => {
    const { provider } = setup([{ status: 201, headers: { 'X-Subject-Token': 'tok-A' }, body }]);
    const error = await provider.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IamUnavailableError);
    expect((error as Error).message).toContain('token.expires_at');
  });

  describe('a pre-issued token', () => {
    it('is used as-is, without calling IAM', async () => {
      const fetch = fakeFetch([]);
      const provider = createTokenProvider({
        iamEndpoint: IAM,
        projectId: PROJECT,
        credentials: loader({ kind: 'token', token: 'pre-issued' }),
        fetch,
      });
      expect(await provider.getToken()).toBe('pre-issued');
      expect(fetch.calls).toHaveLength(0);
    });

    it('is not renewed once rejected: the next call fails as a credentials failure', async () => {
      const credentials = loader({ kind: 'token', token: 'pre-issued' });
      const provider = createTokenProvider({
        iamEndpoint: IAM,
        projectId: PROJECT,
        credentials,
        fetch: fakeFetch([]),
      });
      await provider.getToken();

      provider.invalidate('pre-issued');

      await expect(provider.getToken()).rejects.toBeInstanceOf(CredentialsRejectedError);
      expect(credentials.state.invalidations).toBe(1);
    });

    it('is replaced when the secret now holds a different token', async () => {
      let current = 'old-token';
      const credentials = loader(() => ({ kind: 'token', token: current }));
      const provider = createTokenProvider({
        iamEndpoint: IAM,
        projectId: PROJECT,
        credentials,
        fetch: fakeFetch([]),
      });
      await provider.getToken();

      current = 'rotated-token';
      provider.invalidate('old-token');

      expect(await provider.getToken()).toBe('rotated-token');
    });
  });
});
