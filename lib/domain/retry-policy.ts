/**
 * When a queue message whose stop failed for a retryable reason comes back (design: "Riding out
 * outages and throttling"): its visibility timeout grows with its receive count, exponentially from
 * `baseSeconds`, with at most ±20 % jitter, never past `maxSeconds`. Together with the queue's
 * `maxReceiveCount` this decides how long an outage a request survives before the DLQ
 * ({@link receivesDuringOutage}), and `maxSeconds` with the breaker's longest probe interval how
 * soon after recovery it is made ({@link worstWaitAfterRecoverySeconds}; docs/queue.md, "Riding out
 * outages and throttling").
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
  const delay = backoffOf(receiveCount, backoff);
  // jittered below the cap as well: messages failed together do not all come back together
  const jittered = Math.min(backoff.maxSeconds, delay * (1 + RETRY_JITTER * (2 * random() - 1)));
  return Math.max(1, Math.min(backoff.maxSeconds, Math.round(Math.max(jittered, minSeconds))));
}

/**
 * The visibility timeout of a message whose stop was not tried because the breaker is open: back
 * when its container's breaker probes next (plus up to 20 %, so that messages do not all come back
 * at once), but not before half its back-off, nor after all of it. The floor keeps the receives of an
 * outage bounded however many containers probe, each on its own clock ({@link receivesDuringOutage}).
 */
export function pausedDelaySeconds(
  receiveCount: number,
  probeInSeconds: number,
  backoff: RetryBackoff,
  random: () => number = Math.random,
): number {
  const full = retryDelaySeconds(receiveCount, backoff, random);
  const untilProbe = Math.round(Math.max(1, probeInSeconds) * (1 + RETRY_JITTER * random()));
  return Math.max(1, Math.min(full, Math.max(untilProbe, Math.round(floorOf(receiveCount, backoff)))));
}

/** The back-off of a receive before jitter: doubling from the base, capped (a missing count is the first). */
function backoffOf(receiveCount: number, backoff: RetryBackoff): number {
  const count = Number.isFinite(receiveCount) && receiveCount >= 1 ? Math.floor(receiveCount) : 1;
  // 2 ** 30 is past any cap; a count in the thousands must not overflow to Infinity
  return Math.min(backoff.maxSeconds, backoff.baseSeconds * 2 ** Math.min(30, count - 1));
}

/** Half the un-jittered back-off of a receive: the shortest a paused message stays away. */
const floorOf = (receiveCount: number, backoff: RetryBackoff) => backoffOf(receiveCount, backoff) / 2;

/**
 * At most how many times a message is received during `outageSeconds` of continuous failure: every
 * receive keeps it away at least half its back-off (a paused one) or its whole back-off less the
 * jitter (a failed call), whatever the breakers of however many containers do. The least
 * `maxReceiveCount` for that outage.
 */
export function receivesDuringOutage(outageSeconds: number, backoff: RetryBackoff): number {
  let away = 0;
  let receives = 0;
  while (away < outageSeconds) {
    receives += 1;
    // a failed call's shortest wait (its back-off less 20 %) is longer than a paused one's floor
    away += Math.max(1, Math.round(floorOf(receives, backoff)));
  }
  // the receive after the last wait must still be allowed
  return receives + 1;
}

/** What besides the back-off decides how soon after recovery a request is made. */
export interface RecoveryTimes {
  /** The breaker's longest probe interval. */
  maxProbeSeconds: number;
  /** The longest a LakeFormation call waits for its answer (the client's timeout per call). */
  callSeconds: number;
  /** The longest an invocation runs (the function's timeout). */
  invocationSeconds: number;
  /** The queue's visibility timeout: how long a message stays away when its back-off cannot be set. */
  visibilityTimeoutSeconds: number;
  /** How long a visible message can wait to be received (the event source's batching window). */
  pollSeconds: number;
}

/** What rounding to whole seconds can add to a paused message's delay (the probe's and the delay's). */
const ROUNDING_SECONDS = 2;

/**
 * The longest a request can wait after LakeFormation has recovered (from then on every call is
 * answered within `callSeconds`) until its stop call is made, in seconds:
 *
 * 1. A message away at the recovery was sent away by an invocation that ended within
 *    `invocationSeconds`, for at most `maxSeconds` (or the queue's visibility timeout, counted from
 *    its receive, when its back-off could not be set).
 * 2. A container's breaker that is still open probes next within `maxProbeSeconds` of its last
 *    failed probe, a call made before the recovery and so over within `callSeconds` of it. Until
 *    then a message it receives is sent away until that probe (+20 %) but at least half its
 *    back-off, from the end of its invocation: back within
 *    `max(1.2 × (call + probe), call + probe + max / 2)` of the recovery, plus one invocation. After
 *    that probe is due, no container sends a message away any more.
 * 3. The invocation that receives it (within `pollSeconds` of its coming back) makes its call before
 *    it ends: at once when its breaker is closed, after the probe's answer when one is due or under
 *    way (every attempt of the container waits for it: flow.ts), however many messages its batch
 *    holds.
 *
 * Throttling and a backlog longer than the functions can work off are not counted.
 */
export function worstWaitAfterRecoverySeconds(backoff: RetryBackoff, times: RecoveryTimes): number {
  const { maxProbeSeconds, callSeconds, invocationSeconds, visibilityTimeoutSeconds, pollSeconds } = times;
  const awayAtRecovery = Math.max(invocationSeconds + backoff.maxSeconds, visibilityTimeoutSeconds);
  const lastProbeDue = callSeconds + maxProbeSeconds;
  const sentAwayUntilProbe = Math.max(
    invocationSeconds +
      Math.max(lastProbeDue * (1 + RETRY_JITTER), lastProbeDue + backoff.maxSeconds / 2) +
      ROUNDING_SECONDS,
    lastProbeDue + visibilityTimeoutSeconds,
  );
  return Math.ceil(Math.max(awayAtRecovery, sentAwayUntilProbe) + pollSeconds + invocationSeconds);
}
