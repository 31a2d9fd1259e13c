import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger } from '../../platform/logger.js';
import { metrics } from '../../platform/metrics.js';
import { runPool } from '../../platform/pool.js';
import { type SqsClientSource, sendBatches } from '../../upstream/aws/sqs.js';
import type { LakeFormationClient } from '../../upstream/lakeformation/client.js';
import {
  type RunRef,
  type RunWatch,
  type RunWatchStore,
  runKey,
  runStart,
  stopTimeOf,
  type Warning,
} from '../run-watch.js';
import type { StopMessage } from '../stop-request.js';
import type { StalePolicy } from './policy.js';
import { scanJobs } from './scan.js';
import { judge, type Verdict } from './staleness.js';

/** The `source` of every message the reaper sends. */
export const REAPER_SOURCE = 'stale-job-reaper';

export interface ReaperSummary {
  /** Jobs returned by the list calls. */
  scanned: number;
  /** Stale jobs that are not excluded. */
  stale: number;
  /** Excluded jobs seen. */
  excluded: number;
  enqueued: number;
  /** Jobs warned by this run (event `Job Warned`). */
  warned: number;
  /** Warned jobs whose stop time has not come yet (their warning's lead, or a snooze). */
  waiting: number;
  /** Of those, jobs left alone because their owner snoozed them. */
  snoozed: number;
  /** `total` minus jobs read, over all list slices. */
  unreachable: number;
  dryRun: boolean;
  capped: boolean;
}

export interface ReaperOptions {
  client: LakeFormationClient;
  sqs: SqsClientSource;
  queueUrl: string;
  policy: StalePolicy;
  instanceIds: readonly string[];
  now: number;
  deadline: number;
  /** The warnings and snoozes of job runs (the stop ledger). */
  watches: RunWatchStore;
  /**
   * Publishes the run's `Job Warned` events (never throws): says which could not be published (their
   * positions in `events`).
   */
  publish: (
    events: { type: 'Job Warned'; detail: Record<string, unknown> }[],
  ) => Promise<{ unpublished: readonly number[] }>;
  /** The snooze link of a warned run, snoozing it for `minutes`, valid until `expiresAt` (epoch ms); none without link keys. */
  snoozeLink?: (link: RunRef & { minutes: number; expiresAt: number }) => string | undefined;
}

/** What the reaper does with an actionable job this run. */
type Action =
  | { kind: 'warn'; verdict: Verdict; run: RunRef; warning: Warning }
  | { kind: 'wait'; verdict: Verdict; until: number; snoozed: boolean }
  | { kind: 'stop'; verdict: Verdict; warnedAt?: number };

/** A snooze link works until an hour after the stop time it postpones. */
export const LINK_VALID_AFTER_STOP_MS = 3600_000;
/** Warnings recorded side by side at most. */
const WARN_CONCURRENCY = 10;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Decides one actionable job (past its limit minus its warning lead) against what the ledger knows
 * of its run: warn it (first time, with a warning lead), leave it until its stop time (the
 * warning's, or a snooze's), or stop it. With a warning lead W, no job is stopped less than W
 * minutes after its warning: its stop time is the later of start + limit and warning + W.
 */
function decide(
  verdict: Verdict & { since: number },
  watch: Pick<RunWatch, 'warning' | 'snoozedUntil'> | undefined,
  now: number,
): Action {
  const run: RunRef = {
    instanceId: verdict.job.instanceId,
    jobId: verdict.job.id,
    runStartedAt: runStart(verdict.since),
  };
  if (verdict.warnMinutes > 0 && watch?.warning === undefined) {
    const stopAt = Math.max(
      verdict.since + verdict.limitMinutes * 60_000,
      now + verdict.warnMinutes * 60_000,
    );
    const warning: Warning = {
      warnedAt: now,
      stopAt,
      limitMinutes: verdict.limitMinutes,
      warnMinutes: verdict.warnMinutes,
      runningMinutes: verdict.runningMinutes ?? 0,
      name: verdict.job.name,
      type: verdict.job.type,
    };
    return { kind: 'warn', verdict, run, warning };
  }
  // The stop time as the policy stands now: never before the job is past its current limit, nor
  // sooner after its warning than the current lead (a limit or a lead raised since the warning
  // moves it later, never earlier), nor before a snooze ends.
  const warning = watch?.warning;
  const stored = watch && stopTimeOf(watch);
  const until = Math.max(
    stored ?? 0,
    verdict.since + verdict.limitMinutes * 60_000,
    warning ? warning.warnedAt + verdict.warnMinutes * 60_000 : 0,
  );
  if (now <= until) {
    // held by the snooze, not (only) by the warning's lead or the limit
    return { kind: 'wait', verdict, until, snoozed: watch?.snoozedUntil === until };
  }
  // past the limit with no warning lead, or past its stop time
  return { kind: 'stop', verdict, ...(warning && { warnedAt: warning.warnedAt }) };
}

/** Some stale jobs could not be enqueued; the run fails so that it shows up in the function's errors. */
export class EnqueueError extends Error {
  override name = 'EnqueueError';
}

/**
 * One reaper run: scan, judge every job against the policy, warn the jobs nearing their limit
 * (with a warning lead), and queue a stop for each job whose stop time has passed and that is not
 * snoozed. Over `maxStopsPerRun` stops, or warnings, nothing is sent (a bad threshold must not stop,
 * or alarm, everyone).
 */
export async function runReaper(options: ReaperOptions): Promise<ReaperSummary> {
  const { policy } = options;
  const scan = await scanJobs(
    options.client,
    { instanceIds: options.instanceIds, types: policy.types, statuses: policy.statuses },
    { deadline: options.deadline },
  );
  const verdicts = scan.jobs.map((job) => judge(job, policy, options.now));
  const actionable = verdicts.filter(
    (verdict): verdict is Verdict & { since: number } => verdict.actionable && verdict.since !== undefined,
  );
  const runOf = (verdict: Verdict & { since: number }): RunRef => ({
    instanceId: verdict.job.instanceId,
    jobId: verdict.job.id,
    runStartedAt: runStart(verdict.since),
  });
  // a ledger that cannot be read fails the run: no job is stopped without knowing of its snoozes
  const watches =
    actionable.length > 0
      ? await options.watches.readWatches(actionable.map(runOf), options.now)
      : new Map<string, never>();
  const actions = actionable.map((verdict) =>
    decide(verdict, watches.get(runKey(runOf(verdict))), options.now),
  );
  const toWarn = actions.filter((action) => action.kind === 'warn');
  const toStop = actions.filter((action) => action.kind === 'stop');
  const waiting = actions.filter((action) => action.kind === 'wait');
  const summary: ReaperSummary = {
    scanned: scan.scanned,
    stale: verdicts.filter((verdict) => verdict.stale).length,
    excluded: verdicts.filter((verdict) => verdict.excluded).length,
    enqueued: 0,
    warned: 0,
    waiting: waiting.length,
    snoozed: waiting.filter((action) => action.snoozed).length,
    unreachable: scan.unreachable,
    dryRun: policy.dryRun,
    capped: toStop.length > policy.maxStopsPerRun || toWarn.length > policy.maxStopsPerRun,
  };

  for (const verdict of verdicts.filter((v) => v.runningMinutes === undefined)) {
    logger.warn('job has neither start_time nor create_time; not judged stale', {
      jobId: verdict.job.id,
      instanceId: verdict.job.instanceId,
    });
  }
  if (summary.unreachable > 0) {
    logger.warn('jobs beyond the list API paging window were not scanned', {
      unreachable: summary.unreachable,
      slices: scan.slices.filter((slice) => slice.total > slice.read),
    });
  }

  // Each message names the run judged stale: should it wait in the queue (retries, a redrive) while
  // that run ends and the job is started again, the new run is left alone.
  const messages: StopMessage[] = toStop.map(({ verdict: { job, reason }, warnedAt }) => ({
    jobId: job.id,
    instanceId: job.instanceId,
    reason: `${reason ?? 'stale'}${warnedAt === undefined ? '' : `; warned at ${iso(warnedAt)}`}`,
    source: REAPER_SOURCE,
    ...(job.startTime !== undefined && { runStartedAt: new Date(job.startTime).toISOString() }),
  }));
  const describe = ({ verdict: v }: Action) => ({
    jobId: v.job.id,
    instanceId: v.job.instanceId,
    name: v.job.name,
    reason:
      v.reason ??
      `running ${v.runningMinutes} min, limit ${v.limitMinutes} min, warned ${v.warnMinutes} min ahead`,
  });
  const described = toStop.map(describe);

  let failedCount = 0;
  if (summary.capped) {
    logger.error(
      toStop.length > policy.maxStopsPerRun
        ? 'more stale jobs than maxStopsPerRun: nothing was enqueued'
        : 'more jobs to warn than maxStopsPerRun: nothing was warned or enqueued',
      {
        stale: summary.stale,
        toStop: toStop.length,
        toWarn: toWarn.length,
        maxStopsPerRun: policy.maxStopsPerRun,
        candidates: [...toStop, ...toWarn].map(describe).slice(0, 50),
      },
    );
  } else if (policy.dryRun) {
    logger.info('dry run: stale jobs that would be stopped', { candidates: described });
    if (toWarn.length > 0)
      logger.info('dry run: jobs that would be warned', { candidates: toWarn.map(describe) });
  } else {
    summary.warned = await warn(options, toWarn);
    if (messages.length > 0) {
      const failed = await sendBatches(options.sqs, options.queueUrl, messages, (message) => ({
        body: JSON.stringify(message),
      }));
      failedCount = failed.length;
      summary.enqueued = messages.length - failed.length;
      const notSent = new Set(failed.map(({ item }) => item));
      for (const { item, code, message } of failed) {
        logger.error('stop could not be enqueued', {
          jobId: item.jobId,
          instanceId: item.instanceId,
          code,
          detail: message,
        });
      }
      described.forEach((candidate, index) => {
        if (!notSent.has(messages[index] as StopMessage))
          logger.info('stale job enqueued for stop', candidate);
      });
    }
  }
  for (const action of waiting) {
    logger.info(action.snoozed ? 'job snoozed: left alone' : 'job warned: left alone until its stop time', {
      ...describe(action),
      stopAt: iso(action.until),
    });
  }

  metrics.addMetric('JobsScanned', MetricUnit.Count, summary.scanned);
  metrics.addMetric('StaleJobs', MetricUnit.Count, summary.stale);
  metrics.addMetric('StopsEnqueued', MetricUnit.Count, summary.enqueued);
  metrics.addMetric('JobsWarned', MetricUnit.Count, summary.warned);
  metrics.addMetric('JobsSnoozed', MetricUnit.Count, summary.snoozed);
  metrics.addMetric('ReaperCapped', MetricUnit.Count, summary.capped ? 1 : 0);
  metrics.addMetric('JobsUnreachable', MetricUnit.Count, summary.unreachable);
  logger.info('reaper run', { summary });

  if (failedCount > 0) throw new EnqueueError(`${failedCount} stale job(s) could not be enqueued`);
  return summary;
}

/**
 * Records each run's warning (once: a run another reaper run warned is skipped) and publishes a
 * `Job Warned` event for each recorded one, with its snooze link. A warning whose event could not be
 * published is withdrawn, so that the next run warns again: the lead the owner is given starts with
 * a warning that went out. Returns the warnings given (recorded and published).
 * The link is a credential of sorts: it is never logged.
 */
async function warn(options: ReaperOptions, actions: Extract<Action, { kind: 'warn' }>[]): Promise<number> {
  if (actions.length === 0) return 0;
  // Each warning recorded is published, even when another could not be recorded: a warning in the
  // ledger starts the lead the owner is given, so its event must go out with it.
  let failure: unknown;
  const recorded = await runPool(
    actions,
    WARN_CONCURRENCY,
    () => true,
    async (action) => {
      try {
        return (await options.watches.recordWarning(action.run, action.warning, options.now))
          ? action
          : false;
      } catch (error) {
        failure ??= error;
        return false;
      }
    },
  );
  const warned = recorded.filter((action): action is Extract<Action, { kind: 'warn' }> => !!action);
  const events = warned.map(({ run, warning, verdict }) => {
    const snoozeUrl = options.snoozeLink?.({
      ...run,
      minutes: options.policy.maxSnoozeMinutes,
      expiresAt: warning.stopAt + LINK_VALID_AFTER_STOP_MS,
    });
    return {
      type: 'Job Warned' as const,
      detail: {
        jobId: run.jobId,
        instanceId: run.instanceId,
        runStartedAt: iso(run.runStartedAt),
        source: REAPER_SOURCE,
        reason: verdict.reason ?? `running ${warning.runningMinutes} min, limit ${warning.limitMinutes} min`,
        name: warning.name,
        type: warning.type,
        runningMinutes: warning.runningMinutes,
        limitMinutes: warning.limitMinutes,
        warnMinutes: warning.warnMinutes,
        stopAt: iso(warning.stopAt),
        ...(snoozeUrl !== undefined && { snoozeUrl, snoozeMinutes: options.policy.maxSnoozeMinutes }),
      },
    };
  });
  const unpublished = new Set((await options.publish(events)).unpublished);
  let given = 0;
  for (const [index, { run, warning }] of warned.entries()) {
    const link = events[index]?.detail.snoozeUrl !== undefined;
    if (!unpublished.has(index)) {
      logger.info('job warned', { ...describeRun(run, warning), link });
      given++;
      continue;
    }
    try {
      const withdrawn = await options.watches.withdrawWarning(run, warning.warnedAt, options.now);
      logger.warn('warning withdrawn: its event could not be published; the next run warns again', {
        ...describeRun(run, warning),
        withdrawn,
      });
    } catch (error) {
      // the warning stays recorded though its owner was not told: the run fails, and says so
      logger.error('a warning whose event could not be published could not be withdrawn', {
        ...describeRun(run, warning),
        error,
      });
      failure ??= error;
    }
  }
  // the run fails (and shows in the function's errors) once what was recorded has been told
  if (failure !== undefined) throw failure;
  return given;
}

function describeRun(run: RunRef, warning: Warning) {
  return {
    jobId: run.jobId,
    instanceId: run.instanceId,
    name: warning.name,
    runStartedAt: iso(run.runStartedAt),
    stopAt: iso(warning.stopAt),
  };
}
