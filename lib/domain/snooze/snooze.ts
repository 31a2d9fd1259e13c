import type { CallOptions, JobRef, LakeFormationClient } from '../../upstream/lakeformation/client.js';
import { LakeFormationHttpError } from '../../upstream/lakeformation/errors.js';
import type { Job } from '../../upstream/lakeformation/job.js';
import { LedgerUnavailableError } from '../failures.js';
import { type RunRef, type RunWatch, type RunWatchStore, runStart, stopTimeOf } from '../run-watch.js';
import { isMissingJob, isSameRun } from '../stop.js';

/**
 * Snoozing a pending reaper stop (design: "Warn, then stop; snooze"): the job must be running, on
 * the run asked for; the run's snoozes are counted against `maxSnoozes`; the reaper then leaves the
 * run alone until `snoozedUntil`. A snooze holds for that run only: a new run starts with none.
 */

export interface SnoozeLimits {
  maxSnoozes: number;
  maxSnoozeMinutes: number;
}

export interface SnoozeRequest {
  ref: JobRef;
  /** The run to snooze (epoch ms); the job's current run when absent. */
  runStartedAt?: number;
  minutes: number;
  reason?: string;
  source: 'link' | 'api';
  caller?: string;
  /** The hash of the signed link, for a snooze made from one (it works once). */
  linkId?: string;
}

export type SnoozeRefusal =
  | 'JOB_NOT_FOUND'
  | 'JOB_NOT_RUNNING'
  | 'SNOOZE_LIMIT'
  | 'LINK_USED'
  | 'STOP_UNDER_WAY';

/** A stop of a run that was already requested (from any entry point): the stop ledger's claim of the job. */
export interface StopUnderWay {
  stopId: string;
  /** epoch ms: when it was claimed. */
  at: number;
  /**
   * Its claimant has not had LakeFormation's answer yet. The reaper's stop reads the run's snooze
   * once it holds the claim, before its call, and lets go of the claim if it finds one: a pending
   * claim seen just after a snooze was written may still be let go.
   */
  pending?: boolean;
}

export type SnoozeResult =
  | {
      ok: true;
      run: RunRef;
      job: Job;
      snoozedUntil: number;
      snoozesLeft: number;
      /** When the reaper may stop the run now: the later of its warning's stop time and the snooze. */
      stopAt: number;
      minutes: number;
    }
  | { ok: false; refusal: SnoozeRefusal; detail: string; job?: Job; watch?: RunWatch };

export interface SnoozeDeps {
  client: LakeFormationClient;
  store: RunWatchStore;
  limits: SnoozeLimits;
  now?: () => number;
  call?: CallOptions;
  /**
   * The stop of `run` already requested, if any: a snooze cannot hold back a stop that is made or
   * being made, so it is refused rather than confirmed.
   */
  stopUnderWay?: (run: RunRef, now: number) => Promise<StopUnderWay | undefined>;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A {@link SnoozeDeps.stopUnderWay} that reads the ledger: the stop of `run` claimed there (one stop
 * per job run), a claim of that run, or a claim naming no run made since the run started. Only the
 * claim is read (the snooze function's role reads no record).
 */
export function claimedStopOf(ledger: {
  readClaim(
    ref: JobRef,
    now: number,
  ): Promise<
    { stopId: string; runStartedAt?: number; state: 'PENDING' | 'REQUESTED'; claimedAt: number } | undefined
  >;
}): NonNullable<SnoozeDeps['stopUnderWay']> {
  return async (run, now) => {
    const claim = await ledger.readClaim(run, now);
    if (!claim) return undefined;
    const ofRun =
      claim.runStartedAt === undefined
        ? claim.claimedAt >= run.runStartedAt
        : isSameRun(claim.runStartedAt, run.runStartedAt);
    return ofRun
      ? { stopId: claim.stopId, at: claim.claimedAt, pending: claim.state === 'PENDING' }
      : undefined;
  };
}

/** Statuses the reaper acts on: a job in any other is not running, and has no stop to snooze. */
const RUNNING = new Set(['RUNNING', 'SUBMITTED']);
/** Tries of a snooze that raced another on the same run. */
const ATTEMPTS = 3;
/**
 * How long a snooze just written waits, at most, for a pending claim of its run to settle: a reaper
 * stop reads the snooze within a ledger read of its claim, so one still pending past this is making
 * its call.
 */
const PENDING_WAIT_MS = 2_000;
const POLL_MS = 150;

const iso = (ms: number) => new Date(ms).toISOString();

/** Reads the job and names its run, or says why it cannot be snoozed. */
export async function readRunningJob(
  client: LakeFormationClient,
  ref: JobRef,
  runStartedAt: number | undefined,
  call: CallOptions = {},
): Promise<
  { ok: true; job: Job; run: RunRef } | { ok: false; refusal: SnoozeRefusal; detail: string; job?: Job }
> {
  let job: Job;
  try {
    job = await client.getJob(ref, call);
  } catch (error) {
    if (error instanceof LakeFormationHttpError && isMissingJob(error)) {
      return { ok: false, refusal: 'JOB_NOT_FOUND', detail: `job ${ref.jobId} does not exist` };
    }
    throw error;
  }
  if (!RUNNING.has(job.status)) {
    return { ok: false, refusal: 'JOB_NOT_RUNNING', detail: `job ${ref.jobId} is ${job.status}`, job };
  }
  const since = job.startTime ?? job.createTime;
  if (since === undefined) {
    return {
      ok: false,
      refusal: 'JOB_NOT_RUNNING',
      detail: `job ${ref.jobId} reports no start time: the reaper does not judge it, so there is nothing to snooze`,
      job,
    };
  }
  if (runStartedAt !== undefined && !isSameRun(since, runStartedAt)) {
    return {
      ok: false,
      refusal: 'JOB_NOT_RUNNING',
      detail: `the run of job ${ref.jobId} started at ${iso(runStartedAt)} has ended; the job is on the run started at ${iso(since)}`,
      job,
    };
  }
  return { ok: true, job, run: { ...ref, runStartedAt: runStart(since) } };
}

/**
 * Snoozes the reaper's stop of a job run for `minutes` (1..`maxSnoozeMinutes`, checked by the
 * caller): `snoozedUntil` is now + minutes, or the end of an earlier snooze of the run if that is
 * later (a snooze never shortens one already given).
 *
 * @throws the LakeFormation read's retryable failures, and {@link LedgerUnavailableError}
 */
export async function snoozeRun(deps: SnoozeDeps, request: SnoozeRequest): Promise<SnoozeResult> {
  const now = deps.now ?? Date.now;
  const read = await readRunningJob(deps.client, request.ref, request.runStartedAt, deps.call);
  if (!read.ok) return read;
  const { job, run } = read;
  const stop = await deps.stopUnderWay?.(run, now());
  if (stop) {
    return {
      ok: false,
      refusal: 'STOP_UNDER_WAY',
      detail: `a stop of this run of job ${run.jobId} was requested at ${iso(stop.at)} (stop ${stop.stopId}): it can no longer be snoozed`,
      job,
    };
  }
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const at = now();
    const watch = await deps.store.readWatch(run, at);
    if (request.linkId !== undefined && watch?.usedLinks.includes(request.linkId)) {
      return { ok: false, refusal: 'LINK_USED', detail: 'this snooze link was used already', job, watch };
    }
    const snoozes = watch?.snoozes ?? 0;
    if (snoozes >= deps.limits.maxSnoozes) {
      return {
        ok: false,
        refusal: 'SNOOZE_LIMIT',
        detail: `this run of job ${run.jobId} was snoozed ${snoozes} time(s), the most the policy allows (maxSnoozes ${deps.limits.maxSnoozes})`,
        job,
        ...(watch && { watch }),
      };
    }
    const snoozedUntil = Math.max(at + request.minutes * 60_000, watch?.snoozedUntil ?? 0);
    const recorded = await deps.store.recordSnooze(
      run,
      {
        expectedSnoozes: snoozes,
        snoozedUntil,
        entry: {
          at,
          minutes: request.minutes,
          until: snoozedUntil,
          source: request.source,
          ...(request.caller !== undefined && { caller: request.caller }),
          ...(request.reason !== undefined && { reason: request.reason }),
        },
        ...(request.linkId !== undefined && { linkId: request.linkId }),
      },
      at,
    );
    if (recorded === 'link-used') {
      return { ok: false, refusal: 'LINK_USED', detail: 'this snooze link was used already', job };
    }
    if (recorded === 'recorded') {
      // a stop claimed while the snooze was being written, and not held back by it: say so
      const raced = await settledStop(deps, run, now);
      if (raced) {
        return {
          ok: false,
          refusal: 'STOP_UNDER_WAY',
          detail: `a stop of this run of job ${run.jobId} was requested at ${iso(raced.at)} (stop ${raced.stopId}), as this snooze was made: the snooze cannot hold it back`,
          job,
        };
      }
      const stopAt = stopTimeOf({
        snoozedUntil,
        ...(watch?.warning && { warning: watch.warning }),
      }) as number;
      return {
        ok: true,
        run,
        job,
        snoozedUntil,
        snoozesLeft: deps.limits.maxSnoozes - snoozes - 1,
        stopAt,
        minutes: request.minutes,
      };
    }
  }
  throw new LedgerUnavailableError('recordSnooze', new Error('snoozes of this run kept changing'));
}

/**
 * The stop of `run` under way once this snooze is written: a pending claim is read again until it is
 * accepted (`REQUESTED`), let go (the reaper's stop found the snooze, or failed), or the wait is over.
 */
async function settledStop(
  deps: SnoozeDeps,
  run: RunRef,
  now: () => number,
): Promise<StopUnderWay | undefined> {
  if (!deps.stopUnderWay) return undefined;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = deps.call?.deadline;
  const until = Math.min(now() + PENDING_WAIT_MS, deadline === undefined ? Infinity : deadline - 1_000);
  for (;;) {
    const stop = await deps.stopUnderWay(run, now());
    if (!stop?.pending || now() >= until) return stop;
    await sleep(POLL_MS);
  }
}
