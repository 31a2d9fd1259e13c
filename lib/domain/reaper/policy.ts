import { ConfigError } from '../../platform/config-error.js';
import { isJsonObject } from '../../platform/objects.js';
import { isValidId } from '../../upstream/lakeformation/ids.js';
import { isJobType, JOB_TYPES, type JobType } from '../../upstream/lakeformation/job.js';

/** Which jobs a rule or an exclusion is about; every key given must hold. */
export interface JobMatch {
  /** Glob on the job name: `*` any run of characters, `?` one character. */
  namePattern?: string;
  type?: JobType;
  jobId?: string;
  instanceId?: string;
}

export interface StaleRule {
  match: JobMatch;
  maxRunMinutes: number;
  /** The rule's own warning lead; the policy's `warnMinutes` when absent. */
  warnMinutes?: number;
}

export interface StalePolicy {
  maxRunMinutes: number;
  types: JobType[];
  statuses: ('RUNNING' | 'SUBMITTED')[];
  rules: StaleRule[];
  exclude: JobMatch[];
  maxStopsPerRun: number;
  dryRun: boolean;
  /**
   * Minutes of warning before the reaper stops a job (event `Job Warned`, with a snooze link);
   * 0: no warning, the job is stopped at the first run past its limit.
   */
  warnMinutes: number;
  /** The longest one snooze may be. */
  maxSnoozeMinutes: number;
  /** Snoozes per job run, at most. */
  maxSnoozes: number;
}

// The /* @__PURE__ */ calls let a bundle that never reads a policy (the webhook's, the queue
// function's) leave this module out.
export const DEFAULT_POLICY: StalePolicy = {
  maxRunMinutes: 240,
  types: /* @__PURE__ */ JOB_TYPES.slice(),
  statuses: ['RUNNING'],
  rules: [],
  exclude: [],
  maxStopsPerRun: 25,
  dryRun: false,
  warnMinutes: 0,
  maxSnoozeMinutes: 240,
  maxSnoozes: 3,
};

/** Only statuses of jobs that are still running can be reaped. */
const REAPABLE = ['RUNNING', 'SUBMITTED'] as const;
const MAX_MINUTES = 60 * 24 * 30;
const MAX_STOPS = 1000;
const MAX_SNOOZES = 100;
const MATCH_KEYS = new Set(['namePattern', 'type', 'jobId', 'instanceId']);
const POLICY_KEYS = /* @__PURE__ */ new Set(/* @__PURE__ */ Object.keys(DEFAULT_POLICY));

/** `STALE_JOB_POLICY` is invalid; `field` is the path of the offending value, e.g. `rules[1].maxRunMinutes`. */
export class PolicyError extends ConfigError {
  override name = 'PolicyError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super('STALE_JOB_POLICY', `${field} ${problem}`);
  }
}

function minutes(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_MINUTES) {
    throw new PolicyError(field, `must be a whole number of minutes from 1 to ${MAX_MINUTES}`);
  }
  return value;
}

function count(field: string, value: unknown, min: number, max: number, unit = ''): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new PolicyError(field, `must be a whole number${unit} from ${min} to ${max}`);
  }
  return value;
}

function list(field: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new PolicyError(field, 'must be a list');
  return value;
}

function match(field: string, value: unknown): JobMatch {
  if (!isJsonObject(value)) {
    throw new PolicyError(field, 'must be an object such as {"namePattern": "nightly_*"}');
  }
  const record = value;
  const keys = Object.keys(record);
  const unknown = keys.find((key) => !MATCH_KEYS.has(key));
  if (unknown !== undefined)
    throw new PolicyError(`${field}.${unknown}`, 'is not a known key (namePattern, type, jobId, instanceId)');
  if (keys.length === 0)
    throw new PolicyError(field, 'must name at least one of namePattern, type, jobId, instanceId');
  const result: JobMatch = {};
  if (record.namePattern !== undefined) {
    if (
      typeof record.namePattern !== 'string' ||
      record.namePattern === '' ||
      record.namePattern.length > 255
    ) {
      throw new PolicyError(`${field}.namePattern`, 'must be a non-empty glob string');
    }
    result.namePattern = record.namePattern;
  }
  if (record.type !== undefined) {
    if (!isJobType(record.type))
      throw new PolicyError(`${field}.type`, `must be one of ${JOB_TYPES.join(', ')}`);
    result.type = record.type;
  }
  for (const key of ['jobId', 'instanceId'] as const) {
    if (record[key] === undefined) continue;
    if (!isValidId(record[key]))
      throw new PolicyError(`${field}.${key}`, 'must be 1-64 letters, digits or dashes');
    result[key] = record[key] as string;
  }
  return result;
}

/** Whether any job can be warned under `policy` (a warning lead above 0, top level or in a rule). */
export function warnsBeforeStopping(policy: StalePolicy): boolean {
  return policy.warnMinutes > 0 || policy.rules.some((rule) => (rule.warnMinutes ?? 0) > 0);
}

/**
 * Validates `STALE_JOB_POLICY` (already JSON-parsed) and fills in the defaults.
 *
 * @throws {PolicyError} naming the field at fault
 */
export function parsePolicy(raw: unknown): StalePolicy {
  if (!isJsonObject(raw)) throw new PolicyError('(policy)', 'must be a JSON object');
  const input = raw;
  const unknown = Object.keys(input).find((key) => !POLICY_KEYS.has(key));
  if (unknown !== undefined) throw new PolicyError(unknown, 'is not a policy field');
  const policy: StalePolicy = {
    ...DEFAULT_POLICY,
    types: [...DEFAULT_POLICY.types],
    statuses: [...DEFAULT_POLICY.statuses],
  };

  if (input.maxRunMinutes !== undefined) policy.maxRunMinutes = minutes('maxRunMinutes', input.maxRunMinutes);
  if (input.types !== undefined) {
    const types = list('types', input.types);
    if (types.length === 0) throw new PolicyError('types', 'must name at least one job type');
    policy.types = types.map((type, i) => {
      if (!isJobType(type)) throw new PolicyError(`types[${i}]`, `must be one of ${JOB_TYPES.join(', ')}`);
      return type;
    });
  }
  if (input.statuses !== undefined) {
    const statuses = list('statuses', input.statuses);
    if (statuses.length === 0) throw new PolicyError('statuses', 'must name at least one status');
    policy.statuses = statuses.map((status, i) => {
      if (!(REAPABLE as readonly unknown[]).includes(status)) {
        throw new PolicyError(
          `statuses[${i}]`,
          `must be one of ${REAPABLE.join(', ')} (only running jobs can be stopped)`,
        );
      }
      return status as StalePolicy['statuses'][number];
    });
  }
  if (input.rules !== undefined) {
    policy.rules = list('rules', input.rules).map((rule, i) => {
      if (!isJsonObject(rule)) {
        throw new PolicyError(`rules[${i}]`, 'must be an object {"match": {...}, "maxRunMinutes": n}');
      }
      const { match: m, maxRunMinutes, warnMinutes, ...rest } = rule;
      const extra = Object.keys(rest)[0];
      if (extra !== undefined)
        throw new PolicyError(
          `rules[${i}].${extra}`,
          'is not a rule field (match, maxRunMinutes, warnMinutes)',
        );
      if (m === undefined) throw new PolicyError(`rules[${i}].match`, 'is required');
      if (maxRunMinutes === undefined) throw new PolicyError(`rules[${i}].maxRunMinutes`, 'is required');
      return {
        match: match(`rules[${i}].match`, m),
        maxRunMinutes: minutes(`rules[${i}].maxRunMinutes`, maxRunMinutes),
        ...(warnMinutes !== undefined && {
          warnMinutes: count(`rules[${i}].warnMinutes`, warnMinutes, 0, MAX_MINUTES, ' of minutes'),
        }),
      };
    });
  }
  if (input.exclude !== undefined) {
    policy.exclude = list('exclude', input.exclude).map((entry, i) => match(`exclude[${i}]`, entry));
  }
  if (input.maxStopsPerRun !== undefined) {
    const value = input.maxStopsPerRun;
    policy.maxStopsPerRun = count('maxStopsPerRun', value, 1, MAX_STOPS);
  }
  if (input.dryRun !== undefined) {
    if (typeof input.dryRun !== 'boolean') throw new PolicyError('dryRun', 'must be true or false');
    policy.dryRun = input.dryRun;
  }
  if (input.warnMinutes !== undefined) {
    policy.warnMinutes = count('warnMinutes', input.warnMinutes, 0, MAX_MINUTES, ' of minutes');
  }
  if (input.maxSnoozeMinutes !== undefined) {
    policy.maxSnoozeMinutes = minutes('maxSnoozeMinutes', input.maxSnoozeMinutes);
  }
  if (input.maxSnoozes !== undefined) {
    policy.maxSnoozes = count('maxSnoozes', input.maxSnoozes, 0, MAX_SNOOZES);
  }
  return policy;
}
