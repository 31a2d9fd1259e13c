import { describe, expect, it } from 'vitest';
import { createLakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import { DeadlineExceededError } from '../../lib/upstream/lakeformation/errors.js';
import { createFlowControl, UpstreamPausedError } from '../../lib/upstream/transport/flow.js';
import { countingTokens, type FakeAnswer, fakeFetch } from '../support/fake-fetch.js';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const REF = {
  instanceId: '2180518f-42b8-4947-b20b-adfc53981a25',
  jobId: '03141229-84cd-4b1b-9733-dd124320c125',
};

/** A client under flow control on a clock that only moves when something sleeps. */
function setup(answers: FakeAnswer[]) {
  let now = 1_000_000;
  const timing = {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    random: () => 0.5,
  };
  const flow = createFlowControl({ maxConcurrency: 4, timing });
  const fetch = fakeFetch(answers);
  const client = createLakeFormationClient({
    endpoint: 'https://lakeformation.test',
    projectId: PROJECT,
    tokens: countingTokens(),
    fetch,
    flow,
    retry: { maxAttempts: 1 },
    timing,
  });
  return { client, fetch, flow, now: () => now };
}

describe('a LakeFormation client under flow control', () => {
  it('makes no attempt it could not finish: a wait for the pause that reaches the deadline ends the call there', async () => {
    const { client, fetch, now } = setup([{ status: 429, headers: { 'retry-after': '3' } }, { status: 202 }]);
    await expect(client.stopJob(REF)).rejects.toMatchObject({ status: 429 });

    // 3 s of pause left, 2.5 s of deadline: no second attempt, and over by the deadline
    const deadline = now() + 2_500;
    const error = await client.stopJob(REF, { deadline }).catch((e: unknown) => e);
    expect(error instanceof UpstreamPausedError || error instanceof DeadlineExceededError).toBe(true);
    expect(now()).toBeLessThanOrEqual(deadline);
    expect(fetch.calls).toHaveLength(1);
  });

  it('makes the next attempt after the pause when the deadline allows it', async () => {
    const { client, fetch, now } = setup([{ status: 429, headers: { 'retry-after': '2' } }, { status: 202 }]);
    await expect(client.stopJob(REF)).rejects.toMatchObject({ status: 429 });
    const before = now();
    await client.stopJob(REF, { deadline: now() + 10_000 });
    expect(now() - before).toBeGreaterThanOrEqual(2_000);
    expect(fetch.calls).toHaveLength(2);
  });

  it('opens the breaker on five 503s and then makes no call', async () => {
    const { client, fetch, flow } = setup(Array.from({ length: 5 }, () => ({ status: 503 })));
    for (let i = 0; i < 5; i++) await expect(client.stopJob(REF)).rejects.toMatchObject({ status: 503 });
    expect(flow.state().breaker).toBe('open');
    await expect(client.stopJob(REF)).rejects.toBeInstanceOf(UpstreamPausedError);
    expect(fetch.calls).toHaveLength(5);
  });
});
