import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_BACKOFF,
  pausedDelaySeconds,
  receivesDuringOutage,
  retryDelaySeconds,
  worstWaitAfterRecoverySeconds,
} from '../../lib/domain/retry-policy.js';

const at = (r: number) => () => r;

describe('Function: retryDelaySeconds()', () => {
  it('doubles from the base with the receive count, up to the cap', () => {
    expect(
      [1, 2, 3, 4, 5, 6, 7, 50, 5_000].map((n) => retryDelaySeconds(n, DEFAULT_RETRY_BACKOFF, at(0.5))),
    ).toEqual([30, 60, 120, 240, 480, 600, 600, 600, 600]);
  });

  it('jitters by at most 20 % either way, and never past the cap', () => {
    expect(retryDelaySeconds(2, DEFAULT_RETRY_BACKOFF, at(0))).toBe(48);
    expect(retryDelaySeconds(2, DEFAULT_RETRY_BACKOFF, at(0.999_999))).toBe(72);
    expect(retryDelaySeconds(9, DEFAULT_RETRY_BACKOFF, at(0))).toBe(480);
    expect(retryDelaySeconds(9, DEFAULT_RETRY_BACKOFF, at(0.999_999))).toBe(600);
  });

  it('waits at least what the failure asked for, within the cap, and reads a missing count as the first', () => {
    expect(retryDelaySeconds(1, DEFAULT_RETRY_BACKOFF, at(0.5), 90)).toBe(90);
    expect(retryDelaySeconds(1, DEFAULT_RETRY_BACKOFF, at(0.5), 5_000)).toBe(600);
    expect(retryDelaySeconds(Number.NaN, DEFAULT_RETRY_BACKOFF, at(0.5))).toBe(30);
    expect(retryDelaySeconds(1, { baseSeconds: 1, maxSeconds: 2 }, at(0))).toBe(1);
  });
});

describe('Function: pausedDelaySeconds()', () => {
  it('brings a message back by the next probe (plus up to 20 %), not before half its back-off nor after all of it', () => {
    expect(pausedDelaySeconds(4, 100, DEFAULT_RETRY_BACKOFF, at(0))).toBe(120);
    expect(pausedDelaySeconds(4, 500, DEFAULT_RETRY_BACKOFF, at(0))).toBe(192);
    expect(pausedDelaySeconds(9, 400, DEFAULT_RETRY_BACKOFF, at(0))).toBe(400);
    expect(pausedDelaySeconds(9, 400, DEFAULT_RETRY_BACKOFF, at(0.999_999))).toBe(480);
    expect(pausedDelaySeconds(9, 3, DEFAULT_RETRY_BACKOFF, at(0.5))).toBe(300);
    expect(pausedDelaySeconds(1, 100, DEFAULT_RETRY_BACKOFF, at(0.5))).toBe(30);
    expect(pausedDelaySeconds(1, 0, { baseSeconds: 1, maxSeconds: 2 }, at(0.5))).toBe(1);
  });
});

describe('the outage arithmetic (docs/queue.md, "Riding out outages and throttling")', () => {
  it('needs at most 293 receives for 24 h of outage, however many containers probe, and waits at most 665 s after recovery', () => {
    expect(receivesDuringOutage(24 * 3600, DEFAULT_RETRY_BACKOFF)).toBe(293);
    // each receive away at least half its back-off: 15, 30, 60, 120, 240, then 300 s
    expect(receivesDuringOutage(15 + 30 + 60, DEFAULT_RETRY_BACKOFF)).toBe(4);
    expect(worstWaitAfterRecoverySeconds(DEFAULT_RETRY_BACKOFF, 300)).toBe(665);
    expect(worstWaitAfterRecoverySeconds(DEFAULT_RETRY_BACKOFF, 300)).toBeLessThanOrEqual(15 * 60);
  });
});
