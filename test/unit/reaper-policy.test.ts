import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, PolicyError, parsePolicy } from '../../lib/domain/reaper/policy.js';
import { globToRegExp, type InstanceJob, judge } from '../../lib/domain/reaper/staleness.js';
import { ConfigError } from '../../lib/platform/config-error.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const minutesAgo = (m: number) => NOW - m * 60_000;

function job(overrides: Partial<InstanceJob> = {}): InstanceJob {
  return {
    id: 'job-1',
    instanceId: 'inst-1',
    name: 'nightly_orders',
    type: 'METADATA_MIGRATION',
    status: 'RUNNING',
    startTime: minutesAgo(300),
    ...overrides,
  };
}

describe('Function: parsePolicy()', () => {
  it('fills in every default for {}', () => {
    expect(parsePolicy({})).toEqual(DEFAULT_POLICY);
    expect(DEFAULT_POLICY).toMatchObject({
      maxRunMinutes: 240,
      types: ['METADATA_MIGRATION', 'PERMISSION_MIGRATION', 'METADATA_DISCOVERY'],
      statuses: ['RUNNING'],
      maxStopsPerRun: 25,
      dryRun: false,
      warnMinutes: 0,
      maxSnoozeMinutes: 240,
      maxSnoozes: 3,
    });
  });

  it('reads the warning and snooze settings, top level and per rule', () => {
    const policy = parsePolicy({
      warnMinutes: 30,
      maxSnoozeMinutes: 60,
      maxSnoozes: 0,
      rules: [
        { match: { namePattern: 'quarterly_*' }, maxRunMinutes: 480, warnMinutes: 0 },
        { match: { namePattern: 'nightly_*' }, maxRunMinutes: 600 },
      ],
    });
    expect(policy).toMatchObject({ warnMinutes: 30, maxSnoozeMinutes: 60, maxSnoozes: 0 });
    expect(policy.rules.map((rule) => rule.warnMinutes)).toEqual([0, undefined]);
    expect(judge(job({ name: 'quarterly_x' }), policy, NOW)).toMatchObject({ warnMinutes: 0 });
    // the default limit (240) and lead (30): stale at 300 min, and actionable since 210
    expect(judge(job({ name: 'other' }), policy, NOW)).toMatchObject({
      warnMinutes: 30,
      actionable: true,
      stale: true,
    });
    expect(judge(job({ name: 'other', startTime: minutesAgo(211) }), policy, NOW)).toMatchObject({
      actionable: true,
      stale: false,
    });
    // nightly_* (600) takes the policy's lead (30): actionable past 570 min
    expect(judge(job({ startTime: minutesAgo(569) }), policy, NOW)).toMatchObject({ actionable: false });
    expect(judge(job({ startTime: minutesAgo(571) }), policy, NOW)).toMatchObject({
      actionable: true,
      stale: false,
      since: minutesAgo(571),
    });
  });

  it.each([
    [{ warnMinutes: -1 }, 'warnMinutes', 'from 0 to 43200'],
    [{ warnMinutes: 1.5 }, 'warnMinutes', 'whole number of minutes'],
    [{ maxSnoozeMinutes: 0 }, 'maxSnoozeMinutes', 'from 1 to 43200'],
    [{ maxSnoozes: 101 }, 'maxSnoozes', 'from 0 to 100'],
    [{ maxSnoozes: '3' }, 'maxSnoozes', 'whole number'],
    [
      { rules: [{ match: { jobId: 'a' }, maxRunMinutes: 10, warnMinutes: 'soon' }] },
      'rules[0].warnMinutes',
      'whole number of minutes',
    ],
    [
      { rules: [{ match: { jobId: 'a' }, maxRunMinutes: 10, snoozeMinutes: 5 }] },
      'rules[0].snoozeMinutes',
      'not a rule field (match, maxRunMinutes, warnMinutes)',
    ],
  ])('refuses %j, naming %s', (raw, field, text) => {
    const refuse = () => parsePolicy(raw);
    expect(refuse).toThrow(PolicyError);
    expect(refuse).toThrow(`${field} `);
    expect(refuse).toThrow(text);
  });

  it('accepts the documented example', () => {
    const policy = parsePolicy({
      maxRunMinutes: 240,
      types: ['METADATA_MIGRATION', 'PERMISSION_MIGRATION', 'METADATA_DISCOVERY'],
      statuses: ['RUNNING'],
      rules: [
        {
          match: { namePattern: 'nightly_*', type: 'METADATA_MIGRATION', jobId: 'abc-1' },
          maxRunMinutes: 600,
        },
      ],
      exclude: [{ namePattern: 'critical_*' }, { jobId: 'abc-2' }],
      maxStopsPerRun: 25,
      dryRun: false,
    });
    expect(policy.rules[0]?.maxRunMinutes).toBe(600);
    expect(policy.exclude).toHaveLength(2);
  });

  it.each([
    [[], '(policy)'],
    [{ maxRunMinute: 10 }, 'maxRunMinute'],
    [{ maxRunMinutes: 0 }, 'maxRunMinutes'],
    [{ maxRunMinutes: 1.5 }, 'maxRunMinutes'],
    [{ maxRunMinutes: '240' }, 'maxRunMinutes'],
    [{ types: [] }, 'types'],
    [{ types: ['ALL'] }, 'types[0]'],
    [{ statuses: ['SUCCESS'] }, 'statuses[0]'],
    [{ statuses: 'RUNNING' }, 'statuses'],
    [{ rules: [{ match: { namePattern: 'a*' } }] }, 'rules[0].maxRunMinutes'],
    [{ rules: [{ maxRunMinutes: 10 }] }, 'rules[0].match'],
    [{ rules: [{ match: {}, maxRunMinutes: 10 }] }, 'rules[0].match'],
    [{ rules: [{ match: { name: 'x' }, maxRunMinutes: 10 }] }, 'rules[0].match.name'],
    [{ rules: [{ match: { type: 'x' }, maxRunMinutes: 10 }] }, 'rules[0].match.type'],
    [
      {
        rules: [
          { match: { jobId: 'a' }, maxRunMinutes: 10 },
          { match: { jobId: '../' }, maxRunMinutes: 1 },
        ],
      },
      'rules[1].match.jobId',
    ],
    [{ rules: [{ match: { jobId: 'a' }, maxRunMinutes: 10, limit: 3 }] }, 'rules[0].limit'],
    [{ exclude: [{ namePattern: '' }] }, 'exclude[0].namePattern'],
    [{ exclude: {} }, 'exclude'],
    [{ maxStopsPerRun: 0 }, 'maxStopsPerRun'],
    [{ dryRun: 'yes' }, 'dryRun'],
  ])('rejects %j naming %s', (raw, field) => {
    const error = (() => {
      try {
        parsePolicy(raw);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(PolicyError);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as PolicyError).field).toBe(field);
    expect((error as PolicyError).message).toMatch(
      new RegExp(`^STALE_JOB_POLICY: ${field.replace(/[[\]().]/g, '\\$&')} `),
    );
  });
});

describe('Function: globToRegExp()', () => {
  it.each([
    ['nightly_*', 'nightly_orders', true],
    ['nightly_*', 'nightly_', true],
    ['nightly_*', 'weekly_nightly_x', false],
    ['job_?', 'job_1', true],
    ['job_?', 'job_12', false],
    ['job_?', 'job_', false],
    ['job_??', 'job_1', false],
    ['*orders*', 'nightly_orders_v2', true],
    ['a.b', 'axb', false],
    ['a.b', 'a.b', true],
    ['(x)+', '(x)+', true],
    ['Nightly_*', 'nightly_a', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(globToRegExp(pattern).test(name)).toBe(expected);
  });
});

describe('Function: judge()', () => {
  it('is stale only strictly past the limit', () => {
    const policy = parsePolicy({ maxRunMinutes: 240 });
    expect(judge(job({ startTime: minutesAgo(240) }), policy, NOW).stale).toBe(false);
    expect(judge(job({ startTime: minutesAgo(240) - 1 }), policy, NOW).stale).toBe(true);
  });

  it('explains the verdict in the reason', () => {
    const policy = parsePolicy({
      maxRunMinutes: 240,
      rules: [{ match: { namePattern: 'nightly_*' }, maxRunMinutes: 120 }],
    });
    expect(judge(job({ startTime: minutesAgo(301.5) }), parsePolicy({}), NOW).reason).toBe(
      'running 301 min > limit 240 min (default limit)',
    );
    expect(judge(job({ startTime: minutesAgo(301) }), policy, NOW).reason).toBe(
      'running 301 min > limit 120 min (rule: nightly_*)',
    );
  });

  it('takes the first matching rule, in order', () => {
    const policy = parsePolicy({
      rules: [
        { match: { type: 'PERMISSION_MIGRATION' }, maxRunMinutes: 10 },
        { match: { namePattern: 'nightly_*' }, maxRunMinutes: 600 },
        { match: { namePattern: 'nightly_orders' }, maxRunMinutes: 30 },
      ],
    });
    const verdict = judge(job({ startTime: minutesAgo(300) }), policy, NOW);
    expect(verdict).toMatchObject({ stale: false, limitMinutes: 600, limitFrom: 'nightly_*' });
  });

  it('applies a rule only when every key of its match holds', () => {
    const policy = parsePolicy({
      rules: [{ match: { namePattern: 'nightly_*', type: 'METADATA_DISCOVERY' }, maxRunMinutes: 600 }],
    });
    expect(judge(job(), policy, NOW)).toMatchObject({ limitMinutes: 240, stale: true });
    expect(judge(job({ type: 'METADATA_DISCOVERY' }), policy, NOW)).toMatchObject({
      limitMinutes: 600,
      stale: false,
    });
  });

  it('never marks an excluded job stale, whatever the rules say', () => {
    const policy = parsePolicy({
      rules: [{ match: { namePattern: 'critical_*' }, maxRunMinutes: 1 }],
      exclude: [{ namePattern: 'critical_*' }, { jobId: 'pinned' }],
    });
    expect(
      judge(job({ name: 'critical_finance', startTime: minutesAgo(10_000) }), policy, NOW),
    ).toMatchObject({
      stale: false,
      excluded: true,
    });
    expect(judge(job({ id: 'pinned', startTime: minutesAgo(10_000) }), policy, NOW).excluded).toBe(true);
  });

  it('matches rules and exclusions by instance', () => {
    const policy = parsePolicy({
      rules: [{ match: { instanceId: 'inst-2' }, maxRunMinutes: 600 }],
      exclude: [{ instanceId: 'inst-3' }],
    });
    const old = { startTime: minutesAgo(300) };
    expect(judge(job(old), policy, NOW)).toMatchObject({ stale: true, limitMinutes: 240 });
    expect(judge(job({ ...old, instanceId: 'inst-2' }), policy, NOW)).toMatchObject({
      stale: false,
      limitMinutes: 600,
      limitFrom: 'inst-2',
    });
    expect(judge(job({ ...old, instanceId: 'inst-3' }), policy, NOW)).toMatchObject({
      stale: false,
      excluded: true,
    });
  });

  it('measures from start_time, the current run, not from when the job was created', () => {
    const verdict = judge(
      job({ createTime: minutesAgo(10_000), startTime: minutesAgo(30) }),
      parsePolicy({}),
      NOW,
    );
    expect(verdict).toMatchObject({ stale: false, runningMinutes: 30 });
  });

  it('falls back to create_time when start_time is missing', () => {
    const verdict = judge(job({ startTime: undefined, createTime: minutesAgo(500) }), parsePolicy({}), NOW);
    expect(verdict).toMatchObject({ stale: true, runningMinutes: 500 });
  });

  it('does not judge a job with neither time stale', () => {
    const verdict = judge(job({ startTime: undefined, createTime: undefined }), parsePolicy({}), NOW);
    expect(verdict.stale).toBe(false);
    expect(verdict.runningMinutes).toBeUndefined();
  });
});
