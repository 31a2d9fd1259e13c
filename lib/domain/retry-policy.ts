/**
 * When a queue message whose stop failed for a retryable reason comes back (design: "Riding out
 * outages and throttling"): its visibility timeout grows with its receive count, exponentially from
 * `baseSeconds`, with at most ±20 % jitter, never past `maxSeconds`. Together with the queue's
 * `maxReceiveCount` this decides how long an outage a request survives before the DLQ
 * ({@link receivesToSurvive}), and `maxSeconds` plus the breaker's longest probe interval how soon
 * after recovery it is made (README, "Riding out outages").
 */
export interface RetryBackoff {
  /** The first retry's delay. @default 30 */
  baseSeconds: number;
  /** The longest delay. @default 600 */
  maxSeconds: number;
}

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { baseSeconds: 30, maxSeconds: 600 };
/** The jitter, as a share of the delay either way. */
export const RETRY_JITTER = 0.2;

/**
 * The visibility timeout, in whole seconds (SQS's unit), for a message received `receiveCount`
 * times (1 on its first receive) whose failure asks for at least `minSeconds` (a `Retry-After`, the
 * breaker's next probe). `random` draws from [0, 1).
 */
export function retryDelaySeconds(
  receiveCount: number,
  backoff: RetryBackoff,
  random: () => number = Math.random,
  minSeconds = 0,
): number {
  const count = Number.isFinite(receiveCount) && receiveCount >= 1 ? Math.floor(receiveCount) : 1;
  // 2 ** 30 is past any cap; a count in the thousands must not overflow to Infinity
  const delay = Math.min(backoff.maxSeconds, backoff.baseSeconds * 2 ** Math.min(30, count - 1));
  // jittered below the cap as well: messages failed together do not all come back together
  const jittered = Math.min(backoff.maxSeconds, delay * (1 + RETRY_JITTER * (2 * random() - 1)));
  return Math.max(1, Math.min(backoff.maxSeconds, Math.round(Math.max(jittered, minSeconds))));
}

/**
 * The visibility timeout of a message whose stop was not tried because the breaker is open: back
 * when the breaker probes next (plus up to 20 % of that, so that messages do not all come back at
 * once), never later than its back-off would have it.
 */
export function pausedDelaySeconds(
  receiveCount: number,
  probeInSeconds: number,
  backoff: RetryBackoff,
  random: () => number = Math.random,
): number {
  const untilProbe = Math.round(Math.max(1, probeInSeconds) * (1 + RETRY_JITTER * random()));
  return Math.max(1, Math.min(retryDelaySeconds(receiveCount, backoff, random), untilProbe));
}

/**
 * At most how many times a message is received during `outageSeconds` of continuous failure, once
 * the breakers probe at their longest interval: each message comes back by its container's next
 * probe at the latest, at most three times per interval (before the probe, while it is under way,
 * after it failed). The least `maxReceiveCount` for that outage.
 */
export function receivesDuringOutage(outageSeconds: number, maxProbeSeconds: number): number {
  return 3 * Math.ceil(outageSeconds / maxProbeSeconds);
}

/**
 * The longest a request can wait after LakeFormation has recovered: one full back-off delay (it
 * failed just before), then, where its container's breaker has not probed since, until that probe
 * (always sooner: the breaker probes within its interval, and a failed probe came before the
 * recovery), then one short wait while the probe is under way.
 */
export function worstWaitAfterRecoverySeconds(backoff: RetryBackoff, probeWaitSeconds = 5): number {
  return backoff.maxSeconds + probeWaitSeconds;
}
