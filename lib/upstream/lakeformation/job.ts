import { parseTimestamp } from '../../platform/time.js';
import { LakeFormationResponseError } from './errors.js';

/** Job types; the list API requires one of them (there is no "all"). */
export const JOB_TYPES = ['METADATA_MIGRATION', 'PERMISSION_MIGRATION', 'METADATA_DISCOVERY'] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** Every status any version of Huawei's docs lists. */
export const JOB_STATUSES = [
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
export type KnownJobStatus = (typeof JOB_STATUSES)[number];
/** A status LakeFormation may add later stays a plain string rather than failing the parse. */
export type JobStatus = KnownJobStatus | (string & {});

/** Statuses in which the job exists but is not running: a stop has nothing to do. */
export const NOT_RUNNING_STATUSES: ReadonlySet<string> = new Set([
  'CREATED',
  'SUCCESS',
  'FAILED',
  'STOPPED',
  'PARTIAL_SUCCESS',
]);

export function isJobType(value: unknown): value is JobType {
  return typeof value === 'string' && (JOB_TYPES as readonly string[]).includes(value);
}

export function isKnownStatus(value: unknown): value is KnownJobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}

export interface Job {
  id: string;
  name: string;
  type: string;
  status: JobStatus;
  /** Epoch milliseconds. */
  createTime?: number;
  /** Epoch milliseconds; the start of the last execution. */
  startTime?: number;
  /** Epoch milliseconds; the end of the last execution. */
  endTime?: number;
  /** Duration of the last execution in seconds (list responses only). */
  executeTimeSeconds?: number;
}

export interface JobPage {
  /** Jobs matching the filter, across all pages. */
  total: number;
  jobs: Job[];
}

/** Reads `status` as documented in the tables (a string) or as shown in the examples (`{"status": "..."}`). */
export function parseStatus(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value.toUpperCase();
  if (typeof value === 'object' && value !== null) {
    return parseStatus((value as { status?: unknown }).status);
  }
  return undefined;
}

/**
 * Turns one job object from a Show or List response into a {@link Job}, tolerating both `status`
 * shapes and both timestamp precisions.
 *
 * @throws {LakeFormationResponseError} when `id` or `status` cannot be read
 */
export function parseJob(operation: string, raw: unknown): Job {
  if (typeof raw !== 'object' || raw === null) {
    throw new LakeFormationResponseError(operation, `${operation}: job is not an object`);
  }
  const data = raw as Record<string, unknown>;
  const status = parseStatus(data.status);
  if (typeof data.id !== 'string' || status === undefined) {
    throw new LakeFormationResponseError(operation, `${operation}: job without id or status`);
  }
  const job: Job = {
    id: data.id,
    name: typeof data.name === 'string' ? data.name : '',
    type: typeof data.type === 'string' ? data.type : '',
    status,
  };
  const createTime = parseTimestamp(data.create_time);
  const startTime = parseTimestamp(data.start_time);
  const endTime = parseTimestamp(data.end_time);
  if (createTime !== undefined) job.createTime = createTime;
  if (startTime !== undefined) job.startTime = startTime;
  if (endTime !== undefined) job.endTime = endTime;
  if (typeof data.execute_time === 'number' && Number.isFinite(data.execute_time)) {
    job.executeTimeSeconds = data.execute_time;
  }
  return job;
}

/** Parses a List response `{total, jobs[]}`; a missing `total` falls back to the page length. */
export function parseJobPage(operation: string, raw: unknown): JobPage {
  const data = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (!Array.isArray(data.jobs)) {
    throw new LakeFormationResponseError(operation, `${operation}: response has no jobs array`);
  }
  const jobs = data.jobs.map((job) => parseJob(operation, job));
  const total = typeof data.total === 'number' && Number.isInteger(data.total) ? data.total : jobs.length;
  return { total, jobs };
}
