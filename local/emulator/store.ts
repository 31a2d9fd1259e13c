import { randomUUID } from 'node:crypto';

/**
 * The emulator's job store and life cycle. A stopped job turns STOPPED `stopDelayMs` after the stop
 * was accepted (its own, or the emulator's); until then it still reads RUNNING (Huawei documents no
 * STOPPING status). A job seeded `neverStops` accepts every stop and stays RUNNING, as a stop that
 * does not take effect would look.
 */

export const TYPES = ['METADATA_MIGRATION', 'PERMISSION_MIGRATION', 'METADATA_DISCOVERY'] as const;
export const STATUSES = [
  'CREATED',
  'SUBMITTED',
  'RUNNING',
  'SUCCESS',
  'FAILED',
  'STOPPED',
  'PARTIAL_SUCCESS',
  'FROZEN_RELEASABLE',
  'FROZEN_UNRELEASABLE',
] as const;
export type EmulatedStatus = (typeof STATUSES)[number];

export interface SeedJob {
  id?: string;
  name: string;
  type: (typeof TYPES)[number];
  status: EmulatedStatus;
  /** ISO-8601 or epoch ms; alternatively `startedMinutesAgo`. */
  startTime?: string | number;
  startedMinutesAgo?: number;
  createTime?: string | number;
  /** Leave `start_time` out of responses (jobs that never ran, or to exercise fallbacks). */
  omitStartTime?: boolean;
  /** This job's delay between an accepted stop and STOPPED, instead of the emulator's `stopDelayMs`. */
  stopDelayMs?: number;
  /** This job accepts a stop (202) and goes on RUNNING: a stop that never takes effect. */
  neverStops?: boolean;
}

export interface JobRecord {
  id: string;
  instanceId: string;
  name: string;
  type: string;
  status: EmulatedStatus;
  createTime: number;
  startTime?: number;
  endTime?: number;
  stopRequestedAt?: number;
  /** Stop calls LakeFormation accepted for this job (duplicates included). */
  stopsAccepted: number;
  stopDelayMs?: number;
  neverStops?: boolean;
}

function toMillis(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new Error(`not a timestamp: ${value}`);
  return parsed;
}

export class JobStore {
  private readonly byInstance = new Map<string, Map<string, JobRecord>>();

  constructor(
    private readonly now: () => number,
    public stopDelayMs: number,
  ) {}

  hasInstance(instanceId: string): boolean {
    return this.byInstance.has(instanceId);
  }

  addInstance(instanceId: string): void {
    if (!this.byInstance.has(instanceId)) this.byInstance.set(instanceId, new Map());
  }

  add(instanceId: string, seed: SeedJob): JobRecord {
    this.addInstance(instanceId);
    const now = this.now();
    const startTime =
      seed.omitStartTime === true
        ? undefined
        : (toMillis(seed.startTime) ??
          (seed.startedMinutesAgo !== undefined ? now - seed.startedMinutesAgo * 60_000 : undefined));
    const record: JobRecord = {
      id: seed.id ?? randomUUID(),
      instanceId,
      name: seed.name,
      type: seed.type,
      status: seed.status,
      createTime: toMillis(seed.createTime) ?? Math.min(startTime ?? now, now) - 60_000,
      stopsAccepted: 0,
    };
    if (startTime !== undefined) record.startTime = startTime;
    if (seed.stopDelayMs !== undefined) record.stopDelayMs = seed.stopDelayMs;
    if (seed.neverStops === true) record.neverStops = true;
    this.byInstance.get(instanceId)?.set(record.id, record);
    return record;
  }

  /** The job with its life cycle brought up to now. */
  get(instanceId: string, jobId: string): JobRecord | undefined {
    const job = this.byInstance.get(instanceId)?.get(jobId);
    return job && this.settle(job);
  }

  /** Every job of the instance in insertion order (the API documents no sort order). */
  list(instanceId: string): JobRecord[] {
    return [...(this.byInstance.get(instanceId)?.values() ?? [])].map((job) => this.settle(job));
  }

  all(): JobRecord[] {
    return [...this.byInstance.keys()].flatMap((instanceId) => this.list(instanceId));
  }

  clear(): void {
    for (const jobs of this.byInstance.values()) jobs.clear();
  }

  /** A new run: RUNNING from now, the last run's end and any pending stop forgotten. */
  start(job: JobRecord): void {
    job.status = 'RUNNING';
    job.startTime = this.now();
    delete job.endTime;
    delete job.stopRequestedAt;
  }

  requestStop(job: JobRecord): void {
    job.stopsAccepted += 1;
    job.stopRequestedAt ??= this.now();
    this.settle(job);
  }

  private settle(job: JobRecord): JobRecord {
    if (
      job.stopRequestedAt !== undefined &&
      !job.neverStops &&
      (job.status === 'RUNNING' || job.status === 'SUBMITTED')
    ) {
      const stoppedAt = job.stopRequestedAt + (job.stopDelayMs ?? this.stopDelayMs);
      if (this.now() >= stoppedAt) {
        job.status = 'STOPPED';
        job.endTime = stoppedAt;
      }
    }
    return job;
  }
}
