import { realTiming, type Timing } from './retry.js';

/**
 * Flow control of one container's calls to an upstream (design: "Riding out outages and
 * throttling"): a breaker that stops calling an upstream that keeps failing, probing it once per
 * interval (the container's other attempts wait for the probe's answer); a limit on calls in
 * flight that halves on each throttle and grows back by one per success; a container-wide pause
 * for a `Retry-After`; and a client-side rate limiter that learns the rate the upstream accepts
 * from its throttles (a token bucket whose rate follows CUBIC: cut to 70 % on a throttle, then
 * grown back along a cubic curve that is flat near the last rate that was throttled). Every attempt takes a permit first and gives it back with what it came to.
 */

export interface FlowOptions {
  /** Calls in flight at most (and the limit that throttles shrink and successes grow back to). */
  maxConcurrency: number;
  /** Failures in a row (5xx, timeouts, no connection) that open the breaker. @default 5 */
  failuresToOpen?: number;
  /** The breaker's first probe interval; it doubles per failed probe. @default 5000 */
  firstProbeMs?: number;
  /** The longest probe interval. @default 300000 */
  maxProbeMs?: number;
  timing?: Partial<Pick<Timing, 'now' | 'sleep'>>;
}

/**
 * What an attempt came to: an answer (any, but 429 and 5xx), a throttle, a failure, or nothing to
 * learn from (`abandoned`: not made, or cut short by the caller's own deadline).
 */
export type AttemptResult = 'answered' | { throttled: true; retryAfterMs?: number } | 'failed' | 'abandoned';

export interface Permit {
  /** Gives the permit back; call it exactly once. */
  release(result: AttemptResult): void;
}

/** No call was made: the upstream is failing (the breaker is open) or asked for a pause past the deadline. */
export class UpstreamPausedError extends Error {
  override name = 'UpstreamPausedError';
  constructor(
    readonly reason: 'breaker' | 'throttled',
    /** How long until a call could be made again. */
    readonly retryAfterMs: number,
  ) {
    super(
      reason === 'breaker'
        ? `calls paused: the upstream keeps failing (next probe in ${Math.ceil(retryAfterMs / 1000)} s)`
        : `calls paused: the upstream is throttling (next call in ${Math.ceil(retryAfterMs / 1000)} s)`,
    );
  }
}

/** How the flow stands, for metrics and logs. */
export interface FlowState {
  breaker: 'closed' | 'open' | 'probing';
  concurrencyLimit: number;
  inFlight: number;
  /** Calls per second the rate limiter lets through; `undefined` until the first throttle. */
  rate?: number;
  pausedForMs: number;
}

export interface FlowControl {
  /**
   * A permit for one attempt, once a slot, a token and the end of any pause allow it. While the
   * breaker is open it throws {@link UpstreamPausedError} at once, unless this attempt is the probe.
   * While a probe is under way it waits for the probe's answer: an answer closes the breaker and
   * this attempt goes on; a failure opens it again and this attempt throws, with the time until the
   * next probe. It also throws when the wait would end past `deadline` (epoch ms).
   */
  acquire(deadline: number): Promise<Permit>;
  state(): FlowState;
}

/**
 * Throttles cut the limits only while they are at least this share of recent answers: an upstream
 * over its rate throttles most calls, while a throttle now and then (a gateway shared with other
 * clients, a blip) would otherwise cut the rate again and again, down to almost nothing.
 */
const CUT_SHARE = 0.1;
/** Each answer's weight in the smoothed share of throttles (about the last 50 answers). */
const SHARE_WEIGHT = 0.02;
/** CUBIC's constants, as TCP and the AWS SDK's adaptive retry mode use them. */
const BETA = 0.7;
const SCALE = 0.4;
/** The rate limiter never goes below this many calls per second. */
const MIN_RATE = 0.5;
/** Smoothing of the measured call rate, over half-second buckets. */
const SMOOTHING = 0.8;
const BUCKET_MS = 500;

/**
 * A token bucket whose rate is learned from throttles. Disabled (no pacing) until the first
 * throttle: an upstream that never throttles is never slowed.
 */
function rateLimiter(now: () => number) {
  let enabled = false;
  let rate = 0;
  let tokens = 0;
  let capacity = 1;
  let lastRefill = now();
  /** The rate at the last throttle, and when it was. */
  let lastMaxRate = 0;
  let lastThrottle = now();
  /** Calls per second, measured over half-second buckets and smoothed. */
  let measured = 0;
  let bucketStart = Math.floor(now() / BUCKET_MS) * BUCKET_MS;
  let bucketCount = 0;

  /** The measured rate; before a whole bucket has passed, the rate of the one under way. */
  const current = () => {
    if (measured > 0) return measured;
    const elapsed = Math.max(100, now() - bucketStart);
    return (bucketCount * 1000) / elapsed;
  };
  const measure = () => {
    const t = now();
    const bucket = Math.floor(t / BUCKET_MS) * BUCKET_MS;
    bucketCount += 1;
    if (bucket > bucketStart) {
      const current = (bucketCount * 1000) / (bucket - bucketStart);
      measured = current * SMOOTHING + measured * (1 - SMOOTHING);
      bucketCount = 0;
      bucketStart = bucket;
    }
  };
  const refill = () => {
    const t = now();
    if (enabled) tokens = Math.min(capacity, tokens + ((t - lastRefill) / 1000) * rate);
    lastRefill = t;
  };
  const setRate = (next: number) => {
    refill();
    rate = Math.max(MIN_RATE, next);
    capacity = Math.max(1, rate);
    tokens = Math.min(tokens, capacity);
  };
  /** Seconds after the last throttle at which the cubic curve is back at the rate throttled. */
  const k = () => Math.cbrt((lastMaxRate * (1 - BETA)) / SCALE);

  return {
    /** How long to wait for a token (0: take it now). */
    waitMs(): number {
      if (!enabled) return 0;
      refill();
      return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / rate) * 1000);
    },
    take() {
      if (enabled) tokens -= 1;
    },
    throttled() {
      measure();
      lastMaxRate = enabled ? Math.min(current(), rate) : current();
      lastThrottle = now();
      enabled = true;
      setRate(Math.max(MIN_RATE, lastMaxRate * BETA));
    },
    answered() {
      measure();
      if (!enabled) return;
      const t = (now() - lastThrottle) / 1000;
      const cubic = SCALE * (t - k()) ** 3 + lastMaxRate;
      setRate(Math.min(cubic, 2 * Math.max(current(), MIN_RATE)));
    },
    rate: () => (enabled ? rate : undefined),
  };
}

/**
 * Creates the flow control of one upstream for this container.
 *
 * @example
 * const flow = createFlowControl({ maxConcurrency: 20 });
 * const permit = await flow.acquire(deadline);
 * try { const answer = await call(); permit.release(answer.status === 429 ? { throttled: true } : 'answered'); }
 * catch (error) { permit.release('failed'); throw error; }
 */
export function createFlowControl(options: FlowOptions): FlowControl {
  const now = options.timing?.now ?? realTiming.now;
  const sleep = options.timing?.sleep ?? realTiming.sleep;
  const failuresToOpen = options.failuresToOpen ?? 5;
  const firstProbeMs = options.firstProbeMs ?? 5_000;
  const maxProbeMs = options.maxProbeMs ?? 300_000;
  const max = Math.max(1, options.maxConcurrency);
  /** The wait reported by an attempt whose deadline came while a probe was still under way. */
  const probeWaitMs = Math.min(5_000, firstProbeMs);
  const limiter = rateLimiter(now);

  let limit = max;
  let inFlight = 0;
  /** Attempts waiting for a free slot. */
  const waiting: (() => void)[] = [];
  /** Attempts waiting for the probe's answer. */
  const awaitingProbe: (() => void)[] = [];
  let pausedUntil = 0;
  let failures = 0;
  let breaker: 'closed' | 'open' | 'probing' = 'closed';
  let probeMs = firstProbeMs;
  let nextProbeAt = 0;
  /**
   * When the limits were last cut: throttles of calls started before it are of the same burst and
   * cut nothing more (one cut per round trip, as TCP's congestion control).
   */
  let lastCut = Number.NEGATIVE_INFINITY;
  /** The share of recent answers that were throttles (smoothed over about the last 50). */
  let throttledShare = 0;

  /** Waits in `queue` until woken; `false` when `withinMs` passed first. */
  const wokenIn = (queue: (() => void)[], withinMs: number) =>
    new Promise<boolean>((resolve) => {
      const woken = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve(true);
      };
      const timer = Number.isFinite(withinMs)
        ? setTimeout(
            () => {
              queue.splice(queue.indexOf(woken), 1);
              resolve(false);
            },
            Math.max(0, withinMs),
          )
        : undefined;
      queue.push(woken);
    });
  const wake = () => {
    while (inFlight < limit && waiting.length > 0) waiting.shift()?.();
  };
  /** The probe is over (answered, failed, or not made after all): whoever waited for it looks again. */
  const probeOver = () => {
    for (const woken of awaitingProbe.splice(0)) woken();
  };
  const open = () => {
    breaker = 'open';
    nextProbeAt = now() + probeMs;
  };

  function release(probe: boolean, startedAt: number, result: AttemptResult) {
    inFlight -= 1;
    if (result === 'abandoned') {
      // no answer either way: a probe is due again at once
      if (probe) breaker = 'open';
    } else if (result === 'failed') {
      failures += 1;
      if (probe) {
        probeMs = Math.min(maxProbeMs, probeMs * 2);
        open();
      } else if (breaker === 'closed' && failures >= failuresToOpen) {
        open();
      }
    } else {
      // any answer but a failure, a throttle included, shows the upstream is up
      failures = 0;
      if (probe || breaker !== 'closed') {
        breaker = 'closed';
        probeMs = firstProbeMs;
      }
      throttledShare = throttledShare * (1 - SHARE_WEIGHT) + (result === 'answered' ? 0 : SHARE_WEIGHT);
      if (result === 'answered') {
        limiter.answered();
        limit = Math.min(max, limit + 1);
      } else {
        if (startedAt >= lastCut && throttledShare >= CUT_SHARE) {
          limiter.throttled();
          limit = Math.max(1, Math.floor(limit / 2));
          lastCut = now();
        }
        if (result.retryAfterMs !== undefined)
          pausedUntil = Math.max(pausedUntil, now() + result.retryAfterMs);
      }
    }
    if (probe) probeOver();
    wake();
  }

  return {
    async acquire(deadline) {
      for (;;) {
        const t = now();
        let probe = false;
        if (breaker === 'probing') {
          // the probe's answer is near and decides for every attempt of the container: wait for it
          // here rather than send the message away (it would stay away at least half its back-off)
          if (!(await wokenIn(awaitingProbe, deadline - t))) {
            throw new UpstreamPausedError('breaker', probeWaitMs);
          }
          continue;
        }
        if (breaker === 'open') {
          if (t < nextProbeAt) throw new UpstreamPausedError('breaker', nextProbeAt - t);
          breaker = 'probing';
          probe = true;
        }
        const waitMs = Math.max(pausedUntil - t, limiter.waitMs());
        if (waitMs > 0) {
          if (probe) {
            breaker = 'open';
            probeOver();
          }
          if (t + waitMs >= deadline) throw new UpstreamPausedError('throttled', waitMs);
          await sleep(waitMs);
          continue;
        }
        if (inFlight >= limit) {
          if (probe) {
            breaker = 'open';
            probeOver();
          }
          if (!(await wokenIn(waiting, deadline - t))) throw new UpstreamPausedError('throttled', 0);
          continue;
        }
        inFlight += 1;
        limiter.take();
        const startedAt = now();
        let released = false;
        return {
          release(result) {
            if (released) return;
            released = true;
            release(probe, startedAt, result);
          },
        };
      }
    },
    state() {
      const rate = limiter.rate();
      return {
        breaker,
        concurrencyLimit: limit,
        inFlight,
        ...(rate !== undefined && { rate }),
        pausedForMs: Math.max(0, pausedUntil - now()),
      };
    },
  };
}
