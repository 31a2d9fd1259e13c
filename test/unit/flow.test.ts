import { describe, expect, it } from 'vitest';
import { createFlowControl, UpstreamPausedError } from '../../lib/upstream/transport/flow.js';

/** A virtual clock: `sleep` resolves when {@link run} advances time to it. */
function virtualTime() {
  let t = 1_000_000;
  const timers: { at: number; resolve: () => void }[] = [];
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => t,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        timers.push({ at: t + Math.max(0, ms), resolve });
      }),
    advance: (ms: number) => {
      t += ms;
    },
    /** Runs the timers in order until `until` (virtual ms from now) or none are left. */
    async run(forMs: number) {
      const end = t + forMs;
      await flush();
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > end) break;
        timers.shift();
        t = Math.max(t, next.at);
        next.resolve();
        await flush();
      }
      t = end;
    },
  };
}

const pausedReason = async (attempt: Promise<unknown>) => {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof UpstreamPausedError) return { reason: error.reason, ms: error.retryAfterMs };
    throw error;
  }
  return undefined;
};

describe('Function: createFlowControl()', () => {
  it('opens after five failures in a row, then lets one probe through per interval, doubling to the cap', async () => {
    // Prepare
    const time = virtualTime();
    const flow = createFlowControl({
      maxConcurrency: 4,
      firstProbeMs: 5_000,
      maxProbeMs: 20_000,
      timing: time,
    });
    for (let i = 0; i < 5; i++) (await flow.acquire(Number.POSITIVE_INFINITY)).release('failed');

    // Assess: no call while open; one probe at each interval's end; the interval doubles up to 20 s
    expect(flow.state().breaker).toBe('open');
    expect(await pausedReason(flow.acquire(Number.POSITIVE_INFINITY))).toEqual({
      reason: 'breaker',
      ms: 5_000,
    });
    const intervals: number[] = [];
    const toldWaiting: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const paused = await pausedReason(flow.acquire(Number.POSITIVE_INFINITY));
      intervals.push(paused?.ms ?? 0);
      time.advance(paused?.ms ?? 0);
      const probe = await flow.acquire(Number.POSITIVE_INFINITY);
      // while the probe is under way, another attempt waits for its answer; its failure sends that
      // attempt away until the next probe
      const waiter = pausedReason(flow.acquire(Number.POSITIVE_INFINITY));
      await time.run(0);
      expect(flow.state().breaker).toBe('probing');
      probe.release('failed');
      toldWaiting.push(await waiter);
    }
    expect(intervals).toEqual([5_000, 10_000, 20_000, 20_000]);
    expect(toldWaiting).toEqual([10_000, 20_000, 20_000, 20_000].map((ms) => ({ reason: 'breaker', ms })));

    // a probe that gets any answer closes it: calls flow again, the interval starts over
    time.advance(20_000);
    (await flow.acquire(Number.POSITIVE_INFINITY)).release('answered');
    expect(flow.state().breaker).toBe('closed');
    const calls = await Promise.all([1, 2, 3].map(() => flow.acquire(Number.POSITIVE_INFINITY)));
    expect(calls).toHaveLength(3);
  });

  it('lets the attempts made while a probe is under way go on once it is answered, all at once', async () => {
    // Prepare: open, and the probe due
    const time = virtualTime();
    const flow = createFlowControl({ maxConcurrency: 10, firstProbeMs: 5_000, timing: time });
    for (let i = 0; i < 5; i++) (await flow.acquire(Number.POSITIVE_INFINITY)).release('failed');
    time.advance(5_000);
    const probe = await flow.acquire(Number.POSITIVE_INFINITY);

    // Act: nine more attempts of the same batch, then the probe's answer
    let granted = 0;
    const others = Array.from({ length: 9 }, () =>
      flow.acquire(Number.POSITIVE_INFINITY).then((permit) => {
        granted += 1;
        return permit;
      }),
    );
    await time.run(60_000);
    const beforeAnswer = granted;
    probe.release('answered');
    const permits = await Promise.all(others);

    // Assess: none went before the answer, none was sent away after it
    expect(beforeAnswer).toBe(0);
    expect(permits).toHaveLength(9);
    expect(flow.state()).toMatchObject({ breaker: 'closed', inFlight: 9 });
  });

  it('makes one of the waiting attempts the probe when the probe was not made after all', async () => {
    const time = virtualTime();
    const flow = createFlowControl({ maxConcurrency: 4, firstProbeMs: 5_000, timing: time });
    for (let i = 0; i < 5; i++) (await flow.acquire(Number.POSITIVE_INFINITY)).release('failed');
    time.advance(5_000);
    const probe = await flow.acquire(Number.POSITIVE_INFINITY);
    const first = flow.acquire(Number.POSITIVE_INFINITY);
    const second = pausedReason(flow.acquire(Number.POSITIVE_INFINITY));
    await time.run(0);

    // the probe ends without an answer (its sign-in failed): the first waiter probes instead
    probe.release('abandoned');
    const next = await first;
    expect(flow.state().breaker).toBe('probing');
    // and the second waits for that one: a failure sends it away for the doubled interval
    next.release('failed');
    expect(await second).toEqual({ reason: 'breaker', ms: 10_000 });
  });

  it('sends an attempt away shortly when its deadline comes before the probe is answered', async () => {
    const time = virtualTime();
    const flow = createFlowControl({ maxConcurrency: 4, firstProbeMs: 5_000, timing: time });
    for (let i = 0; i < 5; i++) (await flow.acquire(Number.POSITIVE_INFINITY)).release('failed');
    time.advance(5_000);
    const probe = await flow.acquire(Number.POSITIVE_INFINITY);
    expect(await pausedReason(flow.acquire(time.now() + 20))).toEqual({ reason: 'breaker', ms: 5_000 });
    probe.release('answered');
    expect(flow.state().breaker).toBe('closed');
  });

  it('does not open on failures that answers interrupt', async () => {
    const flow = createFlowControl({ maxConcurrency: 2 });
    for (let i = 0; i < 20; i++) {
      (await flow.acquire(Number.POSITIVE_INFINITY)).release(i % 4 === 3 ? 'answered' : 'failed');
    }
    expect(flow.state().breaker).toBe('closed');
  });

  it('halves the calls in flight on throttles and grows them back by one per answer', async () => {
    const time = virtualTime();
    const flow = createFlowControl({ maxConcurrency: 8, timing: time });
    // the rate limiter, slow after a throttle, spaces calls out: virtual time lets them through
    const acquired = async () => {
      const permit = flow.acquire(Number.POSITIVE_INFINITY);
      await time.run(10_000);
      return permit;
    };
    // a throttle now and then cuts nothing; once they are a tenth of recent answers, each cuts
    for (let i = 0; i < 5; i++) (await acquired()).release({ throttled: true });
    expect(flow.state().concurrencyLimit).toBe(8);
    (await acquired()).release({ throttled: true });
    expect(flow.state().concurrencyLimit).toBe(4);
    (await acquired()).release({ throttled: true });
    expect(flow.state().concurrencyLimit).toBe(2);

    // two in flight: a third waits for one of them
    const first = await acquired();
    const second = await acquired();
    let third = false;
    const waiting = flow.acquire(Number.POSITIVE_INFINITY).then((permit) => {
      third = true;
      return permit;
    });
    await time.run(10);
    expect(third).toBe(false);
    first.release('answered');
    await time.run(10_000);
    (await waiting).release('answered');
    second.release('answered');
    expect(third).toBe(true);
    expect(flow.state().concurrencyLimit).toBe(5);
  });

  it('honours a Retry-After for every caller of the container, and gives up when it ends past the deadline', async () => {
    const time = virtualTime();
    const flow = createFlowControl({ maxConcurrency: 4, timing: time });
    (await flow.acquire(Number.POSITIVE_INFINITY)).release({ throttled: true, retryAfterMs: 3_000 });

    expect(await pausedReason(flow.acquire(time.now() + 1_000))).toMatchObject({ reason: 'throttled' });
    let granted = 0;
    const waiting = flow.acquire(time.now() + 10_000).then(() => {
      granted = time.now();
    });
    const start = time.now();
    await time.run(5_000);
    await waiting;
    expect(granted - start).toBeGreaterThanOrEqual(3_000);
  });

  it('keeps most of its pace when an upstream with room to spare throttles a call now and then (5 %)', async () => {
    // Prepare: 20 callers, an upstream answering in 50 ms that throttles 5 % of calls at random (seeded)
    const time = virtualTime();
    const flow = createFlowControl({ maxConcurrency: 20, timing: time });
    let seed = 1;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    let answered = 0;
    let running = true;
    const lanes = Array.from({ length: 20 }, async () => {
      while (running) {
        const permit = await flow.acquire(Number.POSITIVE_INFINITY);
        await time.sleep(50);
        if (random() < 0.05) permit.release({ throttled: true });
        else {
          answered += 1;
          permit.release('answered');
        }
      }
    });

    // Act: a minute of virtual time
    await time.run(60_000);
    running = false;
    await time.run(1_000);
    await Promise.all(lanes);

    // Assess: unpaced, 20 callers make 400 calls/s, 380 answered; cutting on every throttle made 11/s
    expect(answered / 61).toBeGreaterThanOrEqual(100);
  });

  it('learns the rate an upstream accepts: 20 callers against 50 calls/s get ≥ 90 % of it with ≤ 5 % throttled', async () => {
    // Prepare: an upstream answering in 20 ms that accepts 50 calls per second (a token bucket of 50)
    const time = virtualTime();
    const flow = createFlowControl({ maxConcurrency: 20, timing: time });
    const RATE = 50;
    let tokens = RATE;
    let refilled = time.now();
    let answered = 0;
    let throttled = 0;
    let running = true;
    const call = async () => {
      const permit = await flow.acquire(Number.POSITIVE_INFINITY);
      await time.sleep(20);
      tokens = Math.min(RATE, tokens + ((time.now() - refilled) / 1000) * RATE);
      refilled = time.now();
      if (tokens >= 1) {
        tokens -= 1;
        answered += 1;
        permit.release('answered');
      } else {
        throttled += 1;
        permit.release({ throttled: true });
      }
    };
    const lanes = Array.from({ length: 20 }, async () => {
      while (running) await call();
    });

    // Act: a minute of virtual time
    await time.run(60_000);
    running = false;
    await time.run(1_000);
    await Promise.all(lanes);

    // Assess
    const goodput = answered / 61;
    const share = throttled / (answered + throttled);
    expect(goodput).toBeGreaterThanOrEqual(0.9 * RATE);
    expect(share).toBeLessThanOrEqual(0.05);
  });
});
