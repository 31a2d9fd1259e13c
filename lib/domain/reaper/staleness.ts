import { containerCell } from '../../platform/container-state.js';
import type { Job } from '../../upstream/lakeformation/job.js';
import type { JobMatch, StalePolicy } from './policy.js';

/** A job as the reaper sees it: the instance it lives in included. */
export interface InstanceJob extends Job {
  instanceId: string;
}

export interface Verdict {
  job: InstanceJob;
  excluded: boolean;
  stale: boolean;
  /** The limit that applies, and where it came from (`default` or the rule's label). */
  limitMinutes: number;
  limitFrom: string;
  /** Minutes of warning before a stop (the rule's, else the policy's; 0: none). */
  warnMinutes: number;
  /** When the run began (epoch ms): `start_time`, else `create_time`. Names the run in the ledger. */
  since?: number;
  /**
   * Not excluded, and past its limit minus its warning lead: the reaper acts on it this run (warns
   * it, or stops it once its stop time has passed). With no warning lead, the same as `stale`.
   */
  actionable: boolean;
  /** Whole minutes since `start_time` (or `create_time`); undefined when the job has neither. */
  runningMinutes?: number;
  /** For stale jobs: the queue message's reason. */
  reason?: string;
}

/** Patterns read so far, compiled: a policy's patterns are compiled once per container. */
const globs = /* @__PURE__ */ containerCell(() => new Map<string, RegExp>());

/** `*` any run of characters (none included), `?` exactly one; everything else literal; whole name. */
export function globToRegExp(pattern: string): RegExp {
  const compiled = globs();
  let regex = compiled.get(pattern);
  if (!regex) {
    const source = [...pattern]
      .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    regex = new RegExp(`^${source}$`, 's');
    compiled.set(pattern, regex);
  }
  return regex;
}

/** Every key given in `match` holds for `job`. */
export function matches(match: JobMatch, job: InstanceJob): boolean {
  return (
    (match.namePattern === undefined || globToRegExp(match.namePattern).test(job.name)) &&
    (match.type === undefined || match.type === job.type) &&
    (match.jobId === undefined || match.jobId === job.id) &&
    (match.instanceId === undefined || match.instanceId === job.instanceId)
  );
}

function label(match: JobMatch): string {
  return match.namePattern ?? match.type ?? match.jobId ?? match.instanceId ?? 'rule';
}

/**
 * Decides whether `job` is stale at `now` (epoch ms): exclusions win over everything; the first
 * matching rule sets the limit (and the warning lead), else the policy's; stale when it has run for
 * more than the limit, actionable once it has run for more than the limit minus the warning lead.
 */
export function judge(job: InstanceJob, policy: StalePolicy, now: number): Verdict {
  const rule = policy.rules.find((candidate) => matches(candidate.match, job));
  const limitMinutes = rule?.maxRunMinutes ?? policy.maxRunMinutes;
  const warnMinutes = rule?.warnMinutes ?? policy.warnMinutes;
  const limitFrom = rule ? label(rule.match) : 'default';
  const excluded = policy.exclude.some((match) => matches(match, job));
  const since = job.startTime ?? job.createTime;
  const limits = { limitMinutes, limitFrom, warnMinutes };
  if (since === undefined) return { job, excluded, stale: false, actionable: false, ...limits };
  const runningMs = now - since;
  const runningMinutes = Math.floor(runningMs / 60_000);
  const stale = !excluded && runningMs > limitMinutes * 60_000;
  const actionable = !excluded && runningMs > (limitMinutes - warnMinutes) * 60_000;
  const verdict: Verdict = { job, excluded, stale, actionable, ...limits, since, runningMinutes };
  if (stale) {
    verdict.reason = `running ${runningMinutes} min > limit ${limitMinutes} min (${rule ? `rule: ${limitFrom}` : 'default limit'})`;
  }
  return verdict;
}
