import { logger } from '../platform/logger.js';
import { runPool } from '../platform/pool.js';
import type { JobRef, LakeFormationClient } from '../upstream/lakeformation/client.js';
import { classifyFailure, deadlineFailure, type Failure } from './failures.js';
import type { StopResult } from './outcomes.js';
import { type RunCondition, stopWithOutcome } from './stop.js';

/** A stop request of a batch, with what the caller wants back about it. */
export interface StopItem<T> {
  ref: JobRef;
  /** The `start_time` (epoch ms) of the run it names, if it names one. */
  runStartedAt?: number;
  item: T;
}

/** Every request of a batch naming one job run (its condition): one LakeFormation call serves them all. */
export interface StopGroup<T> extends RunCondition {
  ref: JobRef;
  items: T[];
}

/**
 * How a group's stop ended: with an outcome (and the ledger's `stopId` of it, when the stop was
 * recorded), held back by the group's stop before any call (why), or a failure worth retrying
 * (DEADLINE: not started in time).
 */
export type GroupVerdict =
  | { result: StopResult; stopId?: string }
  | { heldBack: string }
  | { failure: Failure };

export interface StopGroupsOptions {
  client: LakeFormationClient;
  /** Stop calls in flight at most. */
  concurrency: number;
  /** Epoch ms by which LakeFormation calls must be over. */
  deadline: number;
  /**
   * No job is started with less than this left before `deadline`.
   * @default 1000
   */
  minItemMs?: number;
  now?: () => number;
}

/** How one group's stop is made: by default a plain {@link stopWithOutcome}; the queue records it in the ledger. */
export type StopOneGroup<T> = (
  group: StopGroup<T>,
  options: { deadline: number },
) => Promise<{ result: StopResult; stopId?: string } | { heldBack: string }>;

/**
 * The requests grouped by instance, job and run, in the order each was first seen. Requests for
 * different runs of a job (or one for any run) are different stops.
 */
export function groupStops<T>(requests: readonly StopItem<T>[]): StopGroup<T>[] {
  const groups = new Map<string, StopGroup<T>>();
  for (const { ref, runStartedAt, item } of requests) {
    const key = `${ref.instanceId}/${ref.jobId}/${runStartedAt ?? ''}`;
    const group = groups.get(key) ?? { ref, runStartedAt, items: [] };
    group.items.push(item);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * Stops each group's job once, at most `concurrency` at a time, and none with less than
 * `minItemMs` left before `deadline`. `settle` hears each group's verdict as soon as it is known
 * (so it can be reported while other stops still wait on LakeFormation), and that of the groups not
 * started, at the end.
 */
export async function stopGroups<T>(
  groups: readonly StopGroup<T>[],
  options: StopGroupsOptions & { stopGroup?: StopOneGroup<T> },
  settle: (group: StopGroup<T>, verdict: GroupVerdict) => void,
): Promise<void> {
  const now = options.now ?? Date.now;
  const minItemMs = options.minItemMs ?? 1000;
  const started = await runPool(
    groups,
    options.concurrency,
    () => options.deadline - now() >= minItemMs,
    async (group) => {
      try {
        const { deadline } = options;
        const verdict = options.stopGroup
          ? await options.stopGroup(group, { deadline })
          : { result: await stopWithOutcome(options.client, group.ref, { deadline }, group) };
        settle(group, verdict);
      } catch (error) {
        const failure = classifyFailure(error);
        settle(group, { failure });
        if (failure.kind === 'INTERNAL') logger.error('unexpected error while stopping a job', { error });
      }
      return true;
    },
  );
  groups.forEach((group, index) => {
    if (!started[index]) settle(group, { failure: deadlineFailure() });
  });
}
