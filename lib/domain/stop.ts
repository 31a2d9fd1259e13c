import { containerCell } from '../platform/container-state.js';
import { logger } from '../platform/logger.js';
import {
  type CallOptions,
  type JobRef,
  type LakeFormationClient,
  retryDecision,
} from '../upstream/lakeformation/client.js';
import {
  InstanceNotFoundError,
  isErrorTableCode,
  LakeFormationHttpError,
} from '../upstream/lakeformation/errors.js';
import { JOB_TYPES, type Job, NOT_RUNNING_STATUSES } from '../upstream/lakeformation/job.js';
import type { StopResult } from './outcomes.js';

/** Which run of the job a stop is meant for. */
export interface RunCondition {
  /** The `start_time` (epoch ms) of the run to stop; a job whose `start_time` differs is not stopped. */
  runStartedAt?: number;
}

/**
 * Huawei documents two answers for a resource that does not exist: the `lf-jobs` pages show 404
 * (`common.01000001`), the error-code table lists 400 `00000005` ("The resource was not found").
 * Both mean the job is not there. A 404 from the API gateway itself (`APIG.0101`: no such API) is
 * not about the job: the endpoint or path is wrong, and reporting NOT_FOUND for it would acknowledge
 * every stop while none is made.
 */
export function isMissingJob(error: LakeFormationHttpError): boolean {
  if (error.status === 404) return !error.errorCode?.startsWith('APIG.');
  return error.status === 400 && isErrorTableCode(error.errorCode, '00000005');
}

/** Per client (one per container, reused by warm invocations): instances LakeFormation has listed jobs of. */
const confirmedInstances = /* @__PURE__ */ containerCell(
  () => new WeakMap<LakeFormationClient, Map<string, Promise<void>>>(),
);

/**
 * A job that reads as missing is only `NOT_FOUND` once its instance is known to exist: with a wrong
 * instance id (a typo, another project's) every job would read as missing, and every stop be
 * acknowledged while none is made. The instance is confirmed by listing one of its jobs, once per
 * container and instance; an instance whose list answers like a missing job is an
 * {@link InstanceNotFoundError}. A list that fails for a passing reason (throttled, 5xx, timeout) fails
 * the check, to be made again; any other refusal says nothing about the instance and lets the job's
 * `NOT_FOUND` stand.
 */
function confirmInstance(client: LakeFormationClient, instanceId: string, options: CallOptions) {
  const byClient = confirmedInstances();
  let confirmed = byClient.get(client);
  if (!confirmed) {
    confirmed = new Map();
    byClient.set(client, confirmed);
  }
  let check = confirmed.get(instanceId);
  if (!check) {
    const cache = confirmed;
    check = client.listJobs({ instanceId, type: JOB_TYPES[0], limit: 1 }, options).then(
      () => undefined,
      (error: unknown) => {
        if (error instanceof LakeFormationHttpError) {
          if (isMissingJob(error)) {
            cache.delete(instanceId);
            throw new InstanceNotFoundError(instanceId, error);
          }
          if (!retryDecision(error).retry) return; // inconclusive, and not worth asking again
        }
        cache.delete(instanceId); // a failed check is made again by the next missing job
        throw error;
      },
    );
    confirmed.set(instanceId, check);
  }
  return check;
}

/**
 * Start times closer than this are the same run. Huawei does not say that the list and show answers
 * write `start_time` with the same precision; a job cannot end a run and start another within a
 * second, so reading one as seconds and the other as milliseconds must not make every stop a
 * `RUN_CHANGED`.
 */
export const SAME_RUN_WITHIN_MS = 1000;

/** Whether two start times (epoch ms) name the same run of a job, within {@link SAME_RUN_WITHIN_MS}. */
export function isSameRun(startTime: number, wanted: number): boolean {
  return Math.abs(startTime - wanted) < SAME_RUN_WITHIN_MS;
}

/**
 * Stops a job and classifies what happened. A refused stop (400/409) is told apart by reading the
 * job, never by LakeFormation's error code, which the API does not document for this case.
 * Failures that are worth retrying (throttling, timeouts, 5xx, credentials) are thrown.
 *
 * With `condition.runStartedAt` the job is read first and only stopped while its `start_time` is
 * that one (or absent: then which run it is on cannot be told, and it is stopped as asked): a
 * request that waited (a queue message retried for an hour, a redriven dead letter) must not stop a
 * later run of the same job. LakeFormation has no conditional stop, so a run that ends and is
 * started again in the milliseconds between the read and the stop is not told apart.
 */
export async function stopWithOutcome(
  client: LakeFormationClient,
  ref: JobRef,
  options: CallOptions = {},
  condition: RunCondition = {},
): Promise<StopResult> {
  const base = { jobId: ref.jobId, instanceId: ref.instanceId };
  const notFound = async (): Promise<StopResult> => {
    await confirmInstance(client, ref.instanceId, options);
    return { ...base, outcome: 'NOT_FOUND' };
  };
  const read = async (): Promise<Job | undefined> => {
    try {
      return await client.getJob(ref, options);
    } catch (readError) {
      if (readError instanceof LakeFormationHttpError && isMissingJob(readError)) return undefined;
      throw readError;
    }
  };
  const otherRun = (job: Job): StopResult | undefined => {
    const wanted = condition.runStartedAt;
    if (wanted === undefined || job.startTime === undefined || isSameRun(job.startTime, wanted)) {
      return undefined;
    }
    const at = (time: number) => new Date(time).toISOString();
    const detail = `the job's run started at ${at(job.startTime)}, not ${at(wanted)}`;
    return { ...base, outcome: 'RUN_CHANGED', status: job.status, detail };
  };
  if (condition.runStartedAt !== undefined) {
    const job = await read();
    if (!job) return notFound();
    const changed = otherRun(job);
    if (changed) return changed;
    if (NOT_RUNNING_STATUSES.has(job.status)) return { ...base, outcome: 'NOT_RUNNING', status: job.status };
    if (job.startTime === undefined) {
      // A job that ran has a start_time; one read without it says nothing about its run (Huawei's own
      // example of this answer shows no timestamps). Stopped as asked, as without runStartedAt.
      logger.warn(
        'the job reads without start_time: which run it is on cannot be told; stopping it as asked',
        {
          ...base,
          status: job.status,
        },
      );
    }
  }
  try {
    await client.stopJob(ref, options);
    return { ...base, outcome: 'STOP_REQUESTED' };
  } catch (error) {
    if (!(error instanceof LakeFormationHttpError)) throw error;
    // A refused stop (400/409) is classified by reading the job, even when the code says "not found".
    if (error.status === 404 && isMissingJob(error)) return notFound();
    if (error.status !== 400 && error.status !== 409) throw error;
    const job = await read();
    if (!job) return notFound();
    const changed = otherRun(job); // a new run began between the first read and the stop
    if (changed) return changed;
    const { status } = job;
    if (NOT_RUNNING_STATUSES.has(status)) return { ...base, outcome: 'NOT_RUNNING', status };
    const detail = [error.errorCode, error.errorMsg].filter(Boolean).join(': ') || `HTTP ${error.status}`;
    return { ...base, outcome: 'NOT_STOPPABLE', status, detail };
  }
}
