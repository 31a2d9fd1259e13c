import type { Job } from '../../upstream/lakeformation/job.js';
import { NOT_RUNNING_STATUSES } from '../../upstream/lakeformation/job.js';
import { isSameRun, SAME_RUN_WITHIN_MS } from '../stop.js';

/** Who asked for the stop, as its record keeps it (the ledger's `StopRequest`). */
export interface CheckedRequest {
  source: string;
  caller?: string;
  reason?: string;
  /** ISO-8601 UTC. */
  at: string;
}

/**
 * A confirmation check of an accepted stop, as the confirm queue carries it
 * (docs/confirm-message.schema.json): which stop, since when, the delay that led to this check, and
 * whether the stop was already sent again; and who asked for it, so that a check that finds the
 * stop without a record (its write failed) can write it.
 */
export interface ConfirmCheck {
  stopId: string;
  jobId: string;
  instanceId: string;
  /** The run stopped, when the stop named one (ISO-8601). */
  runStartedAt?: string;
  /** When LakeFormation accepted the stop (ISO-8601). */
  acceptedAt: string;
  /** The delay before this check, in seconds; the next one is twice as long (at most 300). */
  delaySeconds: number;
  /** Checks made before this one. */
  checks: number;
  /** The stop was sent once more at half the window. */
  retried: boolean;
  /** The requests the stop's record keeps (absent from checks queued before they were carried). */
  requests?: CheckedRequest[];
  /** Requests of the stop, kept or not. */
  requestCount?: number;
}

export interface ConfirmSettings {
  /** `CONFIRM_FIRST_CHECK_SECONDS`: delay of the first check after a 202. @default 30 */
  firstCheckSeconds: number;
  /** `CONFIRM_WINDOW_SECONDS`: how long a stop may take before it is `STUCK`. @default 1800 */
  windowSeconds: number;
}

/** The longest delay between two checks. */
export const MAX_CHECK_DELAY_SECONDS = 300;

export type CheckVerdict =
  | {
      kind: 'confirmed';
      why: 'ended' | 'another run' | 'gone';
      status?: string;
      endTime?: number;
      /** For `another run`: the `start_time` of the run the job is on now (epoch ms). */
      startTime?: number;
    }
  | { kind: 'stuck'; status: string }
  /** Still running: check again after `delaySeconds`; `stopAgain` at half the window, once. */
  | { kind: 'again'; status: string; delaySeconds: number; stopAgain: boolean };

/** The first check of a stop LakeFormation accepted at `acceptedAt`. */
export function firstCheck(
  stop: {
    stopId: string;
    jobId: string;
    instanceId: string;
    runStartedAt?: string;
    requests?: readonly CheckedRequest[];
    requestCount?: number;
  },
  acceptedAt: number,
  settings: ConfirmSettings,
): ConfirmCheck {
  return {
    stopId: stop.stopId,
    jobId: stop.jobId,
    instanceId: stop.instanceId,
    ...(stop.runStartedAt !== undefined && { runStartedAt: stop.runStartedAt }),
    acceptedAt: new Date(acceptedAt).toISOString(),
    delaySeconds: Math.max(0, Math.min(settings.firstCheckSeconds, settings.windowSeconds)),
    checks: 0,
    retried: false,
    ...(stop.requests !== undefined && {
      requests: stop.requests.map((request) => ({
        source: request.source,
        ...(request.caller !== undefined && { caller: request.caller }),
        ...(request.reason !== undefined && { reason: request.reason }),
        at: request.at,
      })),
      requestCount: stop.requestCount ?? stop.requests.length,
    }),
  };
}

/**
 * Whether a job whose run started at `startTime` is on another run than the one stopped: for a stop
 * that named its run, a `start_time` that differs from it; for one that named none, a `start_time`
 * later than the stop's acceptance (the job was stopped and started again). Both within the usual
 * {@link SAME_RUN_WITHIN_MS}. Such a job is never stopped again: that would stop the new run.
 */
function isAnotherRun(check: ConfirmCheck, startTime: number): boolean {
  if (check.runStartedAt !== undefined) {
    return !isSameRun(startTime, Date.parse(check.runStartedAt));
  }
  return startTime - Date.parse(check.acceptedAt) >= SAME_RUN_WITHIN_MS;
}

/**
 * What a check makes of the job as it reads now (`undefined`: LakeFormation has no such job): a
 * terminal status, another run (see {@link isAnotherRun}) or no job is `CONFIRMED`; still running
 * at the end of the window is `STUCK`; otherwise the next check comes after twice the last delay (at most
 * {@link MAX_CHECK_DELAY_SECONDS}, never past the window's end), and at half the window the stop is
 * sent once more.
 */
export function judgeCheck(
  check: ConfirmCheck,
  job: Job | undefined,
  now: number,
  settings: ConfirmSettings,
): CheckVerdict {
  if (!job) return { kind: 'confirmed', why: 'gone' };
  if (job.startTime !== undefined && isAnotherRun(check, job.startTime)) {
    return { kind: 'confirmed', why: 'another run', status: job.status, startTime: job.startTime };
  }
  if (NOT_RUNNING_STATUSES.has(job.status)) {
    return {
      kind: 'confirmed',
      why: 'ended',
      status: job.status,
      ...(job.endTime !== undefined && { endTime: job.endTime }),
    };
  }
  const elapsed = (now - Date.parse(check.acceptedAt)) / 1000;
  const left = settings.windowSeconds - elapsed;
  if (left <= 0) return { kind: 'stuck', status: job.status };
  const next = Math.min(Math.max(1, check.delaySeconds * 2), MAX_CHECK_DELAY_SECONDS, Math.ceil(left));
  return {
    kind: 'again',
    status: job.status,
    delaySeconds: next,
    stopAgain: !check.retried && elapsed >= settings.windowSeconds / 2,
  };
}
