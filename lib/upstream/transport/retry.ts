export interface RetryOptions {
  /**
   * Attempts in all, the first included.
   * @default 4
   */
  maxAttempts: number;
  /**
   * Ceiling of the first back-off; doubles per retry.
   * @default 200
   */
  baseDelayMs: number;
  /**
   * No back-off is longer than this.
   * @default 5000
   */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 };

/** Clock, sleep and randomness, injectable so tests run without waiting. */
export interface Timing {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const realTiming: Timing = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/**
 * Exponential back-off with full jitter: a uniform draw from `[0, min(cap, base * 2^retry))`.
 * Full jitter spreads retries of many throttled callers instead of synchronising them.
 */
export function backoffDelay(retry: number, options: RetryOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

export interface RetryDecision {
  retry: boolean;
  /** A server-given minimum wait (e.g. `Retry-After`), in ms. */
  minDelayMs?: number;
}

/**
 * Runs `attempt` until it succeeds, fails with an error `decide` does not retry, runs out of
 * attempts, or the next wait would end past `deadline` (epoch ms). The last error is rethrown.
 */
export async function withRetries<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  decide: (error: unknown) => RetryDecision,
  { options, timing, deadline }: { options: RetryOptions; timing: Timing; deadline: number },
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      const decision = decide(error);
      if (!decision.retry || n + 1 >= options.maxAttempts) throw error;
      // A server asking for a longer pause than we would ever wait gets its answer passed on instead.
      if ((decision.minDelayMs ?? 0) > options.maxDelayMs) throw error;
      const delay = Math.max(backoffDelay(n, options, timing.random), decision.minDelayMs ?? 0);
      if (timing.now() + delay >= deadline) throw error;
      await timing.sleep(delay);
    }
  }
}
