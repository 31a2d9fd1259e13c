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
  it('brings a message back by the next probe (plus up to 20 %), never later than its back-off', () => {
    expect(pausedDelaySeconds(9, 100, DEFAULT_RETRY_BACKOFF, at(0))).toBe(100);
    expect(pausedDelaySeconds(9, 100, DEFAULT_RETRY_BACKOFF, at(0.999_999))).toBe(120);
    expect(pausedDelaySeconds(1, 100, DEFAULT_RETRY_BACKOFF, at(0.5))).toBe(30);
    expect(pausedDelaySeconds(9, 0, DEFAULT_RETRY_BACKOFF, at(0.5))).toBe(1);
  });
});

describe('the outage arithmetic (README, "Riding out outages")', () => {
  it('needs at most 864 receives for 24 h with probes every 5 minutes, and waits at most 605 s after recovery', () => {
    expect(receivesDuringOutage(24 * 3600, 300)).toBe(864);
    expect(worstWaitAfterRecoverySeconds(DEFAULT_RETRY_BACKOFF)).toBe(605);
    expect(worstWaitAfterRecoverySeconds(DEFAULT_RETRY_BACKOFF)).toBeLessThanOrEqual(15 * 60);
  });
});
