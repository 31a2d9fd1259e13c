import type { RunRef, RunWatch, RunWatchStore } from '../../lib/domain/run-watch.js';
import { runKey } from '../../lib/domain/run-watch.js';

/** An in-memory run-watch store with the DynamoDB one's conditions, for unit tests of the reaper and snoozes. */
export function memoryWatches(initial: RunWatch[] = []) {
  const items = new Map<string, RunWatch>(initial.map((watch) => [runKey(watch), structuredClone(watch)]));
  const empty = (run: RunRef, now: number): RunWatch => ({
    instanceId: run.instanceId,
    jobId: run.jobId,
    runStartedAt: run.runStartedAt,
    snoozes: 0,
    snoozeLog: [],
    usedLinks: [],
    updatedAt: now,
  });
  const reads: RunRef[][] = [];
  const store: RunWatchStore = {
    async readWatches(runs) {
      reads.push([...runs]);
      const found = new Map<string, RunWatch>();
      for (const run of runs) {
        const watch = items.get(runKey(run));
        if (watch) found.set(runKey(run), structuredClone(watch));
      }
      return found;
    },
    async readWatch(run) {
      const watch = items.get(runKey(run));
      return watch && structuredClone(watch);
    },
    async recordWarning(run, warning, now) {
      const watch = items.get(runKey(run)) ?? empty(run, now);
      if (watch.warning) return false;
      items.set(runKey(run), { ...watch, warning, updatedAt: now });
      return true;
    },
    async withdrawWarning(run, warnedAt, now) {
      const watch = items.get(runKey(run));
      if (watch?.warning?.warnedAt !== warnedAt) return false;
      const { warning: _withdrawn, ...rest } = watch;
      items.set(runKey(run), { ...rest, updatedAt: now });
      return true;
    },
    async recordSnooze(run, change, now) {
      const watch = items.get(runKey(run)) ?? empty(run, now);
      if (change.linkId !== undefined && watch.usedLinks.includes(change.linkId)) return 'link-used';
      if (watch.snoozes !== change.expectedSnoozes) return 'conflict';
      items.set(runKey(run), {
        ...watch,
        snoozedUntil: change.snoozedUntil,
        snoozes: watch.snoozes + 1,
        snoozeLog: [...watch.snoozeLog, change.entry],
        usedLinks: change.linkId === undefined ? watch.usedLinks : [...watch.usedLinks, change.linkId],
        updatedAt: now,
      });
      return 'recorded';
    },
    async listWatches(ref) {
      return [...items.values()]
        .filter((watch) => watch.jobId === ref.jobId && watch.instanceId === ref.instanceId)
        .sort((a, b) => b.runStartedAt - a.runStartedAt);
    },
  };
  return Object.assign(store, { items, reads });
}
