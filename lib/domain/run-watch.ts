import type { JobRef } from '../upstream/lakeformation/client.js';

/**
 * What the reaper and the snoozes know of one run of a job (docs/ledger.md, "Warnings and
 * snoozes"): the warning the reaper gave, the stop time it set, and the snoozes its owners asked
 * for. A run is named by when it began (`start_time`, else `create_time`); a new run of the job
 * starts with nothing.
 */

/** One run of a job. `runStartedAt` is epoch ms. */
export interface RunRef extends JobRef {
  runStartedAt: number;
}

/** A snooze, as the ledger keeps it. Times are epoch ms. */
export interface SnoozeEntry {
  at: number;
  minutes: number;
  /** `snoozedUntil` after this snooze. */
  until: number;
  /** `link` (the signed link of a warning) or `api` (`POST …/snooze`). */
  source: 'link' | 'api';
  /** The credential kind and key index of an `api` snooze, never the key. */
  caller?: string;
  reason?: string;
}

/** The warning the reaper gave a run. Times are epoch ms. */
export interface Warning {
  warnedAt: number;
  /** The earliest time the reaper may stop the run: the later of start + limit and warning + lead. */
  stopAt: number;
  limitMinutes: number;
  warnMinutes: number;
  runningMinutes: number;
  name: string;
  type: string;
}

export interface RunWatch extends RunRef {
  warning?: Warning;
  /** The end of the last snooze (epoch ms); the reaper leaves the run alone until then. */
  snoozedUntil?: number;
  /** Snoozes of this run so far (the version its next change is conditional on). */
  snoozes: number;
  /** Every snooze, oldest first. */
  snoozeLog: SnoozeEntry[];
  /** Hashes of the snooze links used on this run (a link works once). */
  usedLinks: string[];
  /** epoch ms. */
  updatedAt: number;
}

/** A snooze to record: applied only if the run still has `expectedSnoozes` (and the link is unused). */
export interface SnoozeChange {
  expectedSnoozes: number;
  snoozedUntil: number;
  entry: SnoozeEntry;
  /** The hash of the link used, when the snooze came from one. */
  linkId?: string;
}

/** Where run watches are kept (the stop ledger's table: domain/ledger/watches.ts). */
export interface RunWatchStore {
  /** The watches of `runs` that exist, by {@link runKey}. */
  readWatches(runs: readonly RunRef[], now: number): Promise<Map<string, RunWatch>>;
  readWatch(run: RunRef, now: number): Promise<RunWatch | undefined>;
  /** Records the run's warning; `false` when it already had one (another reaper run gave it). */
  recordWarning(run: RunRef, warning: Warning, now: number): Promise<boolean>;
  /**
   * Takes back the run's warning given at `warnedAt` (epoch ms), whose event could not be published:
   * the next reaper run warns the run again. `false` when the run's warning is not that one (or it
   * has none).
   */
  withdrawWarning(run: RunRef, warnedAt: number, now: number): Promise<boolean>;
  /**
   * Records a snooze; `conflict` when the run changed since it was read (another snooze), or
   * `link-used` when the snooze's link already was.
   */
  recordSnooze(
    run: RunRef,
    change: SnoozeChange,
    now: number,
  ): Promise<'recorded' | 'conflict' | 'link-used'>;
  /** A job's watched runs, newest run first. */
  listWatches(ref: JobRef, limit: number, now: number): Promise<RunWatch[]>;
}

/**
 * The name of the run that began at `ms` (epoch): its start to the second. LakeFormation's list and
 * read answers may write one `start_time` with different precision (seconds, milliseconds); a run
 * named to the second is the same run in both.
 */
export const runStart = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** A run's key in maps. */
export const runKey = (run: RunRef): string => `${run.instanceId}/${run.jobId}/${run.runStartedAt}`;

/** When the reaper may stop a watched run: the later of its warning's stop time and its snooze. */
export function stopTimeOf(watch: Pick<RunWatch, 'warning' | 'snoozedUntil'>): number | undefined {
  const times = [watch.warning?.stopAt, watch.snoozedUntil].filter((time) => time !== undefined);
  return times.length === 0 ? undefined : Math.max(...times);
}
