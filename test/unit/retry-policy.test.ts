import { readFileSync } from 'node:fs';
import { DEFAULT_SCHEMA, load, Type } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/container/config.js';
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
  it('needs at most 293 receives for 24 h of outage, however many containers probe', () => {
    expect(receivesDuringOutage(24 * 3600, DEFAULT_RETRY_BACKOFF)).toBe(293);
    // each receive away at least half its back-off: 15, 30, 60, 120, 240, then 300 s
    expect(receivesDuringOutage(15 + 30 + 60, DEFAULT_RETRY_BACKOFF)).toBe(4);
  });

  it('adds up the longest wait after recovery: the back-off, the last probe due, an invocation each side', () => {
    const times = {
      maxProbeSeconds: 300,
      callSeconds: 10,
      invocationSeconds: 60,
      visibilityTimeoutSeconds: 360,
      pollSeconds: 1,
    };
    // sent away until a probe due 310 s after recovery, for half of 600 s, from an invocation's end
    expect(worstWaitAfterRecoverySeconds(DEFAULT_RETRY_BACKOFF, times)).toBe(310 + 300 + 60 + 2 + 1 + 60);
    // away at recovery for the whole back-off, when that is the longer
    expect(worstWaitAfterRecoverySeconds({ baseSeconds: 30, maxSeconds: 900 }, times)).toBe(
      60 + 900 + 1 + 60,
    );
    // a visibility timeout longer than both: a message whose back-off could not be set
    expect(
      worstWaitAfterRecoverySeconds(DEFAULT_RETRY_BACKOFF, { ...times, visibilityTimeoutSeconds: 900 }),
    ).toBe(310 + 900 + 1 + 60);
  });
});

/** serverless.yml, its CloudFormation tags read as plain values. */
function template() {
  const tags = ['Ref', 'GetAtt', 'Join', 'Equals', 'Not'].flatMap((name) =>
    (['scalar', 'sequence'] as const).map(
      (kind) => new Type(`!${name}`, { kind, construct: (data: unknown) => ({ [name]: data }) }),
    ),
  );
  return load(readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8'), {
    schema: DEFAULT_SCHEMA.extend(tags),
  }) as {
    provider: { environment: Record<string, unknown> };
    functions: Record<
      string,
      {
        timeout: number;
        environment?: Record<string, unknown>;
        events: { sqs?: { maximumBatchingWindow: number } }[];
      }
    >;
    resources: { Resources: Record<string, { Properties: Record<string, unknown> }> };
  };
}

describe('the outage arithmetic at production values (serverless.yml and the configuration defaults)', () => {
  it.each([
    ['bulkStop', 'StopQueue'],
    ['confirmStops', 'ConfirmQueue'],
  ])('makes every request of %s pending at recovery within 15 minutes of it', (name, queue) => {
    // Prepare: the settings the deployed function runs with
    const { provider, functions, resources } = template();
    const fn = functions[name];
    if (!fn) throw new Error(`serverless.yml has no function ${name}`);
    const overrides = Object.entries({ ...provider.environment, ...fn.environment }).filter(([key]) =>
      /^(RETRY|BREAKER)_/.test(key),
    );
    const config = parseConfig({
      LAKEFORMATION_REGION: 'cn-north-4',
      LAKEFORMATION_PROJECT_ID: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
      LAKEFORMATION_INSTANCE_ID: '2180518f-42b8-4947-b20b-adfc53981a25',
      HUAWEICLOUD_CREDENTIALS_SECRET_ID: 'lf-job-stopper/credentials',
      ...Object.fromEntries(overrides.map(([key, value]) => [key, String(value)])),
    });
    const batchingWindow = fn.events.find((event) => event.sqs)?.sqs?.maximumBatchingWindow;

    // Act
    const worst = worstWaitAfterRecoverySeconds(config.retryBackoff, {
      maxProbeSeconds: config.breaker.maxProbeSeconds,
      // the LakeFormation client's timeout per call (lib/upstream/lakeformation/client.ts)
      callSeconds: 10,
      invocationSeconds: fn.timeout,
      visibilityTimeoutSeconds: Number(resources.Resources[queue]?.Properties.VisibilityTimeout),
      pollSeconds: Number(batchingWindow),
    });

    // Assess: back-off to 600 s, probes to 300 s, 60 s invocations, 360 s visibility, 1 s window
    expect([config.retryBackoff.maxSeconds, config.breaker.maxProbeSeconds, fn.timeout]).toEqual([
      600, 300, 60,
    ]);
    expect(worst).toBe(733);
    expect(worst).toBeLessThanOrEqual(15 * 60);
  });
});
