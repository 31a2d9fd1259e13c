import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger } from '../../platform/logger.js';
import { metrics } from '../../platform/metrics.js';
import { type SqsClientSource, sendBatches } from '../../upstream/aws/sqs.js';
import type { LakeFormationClient } from '../../upstream/lakeformation/client.js';
import type { StopMessage } from '../stop-request.js';
import type { StalePolicy } from './policy.js';
import { scanJobs } from './scan.js';
import { judge } from './staleness.js';

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
}

/** Some stale jobs could not be enqueued; the run fails so that it shows up in the function's errors. */
export class EnqueueError extends Error {
  override name = 'EnqueueError';
}

/**
 * One reaper run: scan, judge every job against the policy, and queue a stop for each stale one.
 * Over `maxStopsPerRun` candidates nothing is sent (a bad threshold must not stop everything).
 */
export async function runReaper(options: ReaperOptions): Promise<ReaperSummary> {
  const { policy } = options;
  const scan = await scanJobs(
    options.client,
    { instanceIds: options.instanceIds, types: policy.types, statuses: policy.statuses },
    { deadline: options.deadline },
  );
  const verdicts = scan.jobs.map((job) => judge(job, policy, options.now));
  const candidates = verdicts.filter((verdict) => verdict.stale);
  const summary: ReaperSummary = {
    scanned: scan.scanned,
    stale: candidates.length,
    excluded: verdicts.filter((verdict) => verdict.excluded).length,
    enqueued: 0,
    unreachable: scan.unreachable,
    dryRun: policy.dryRun,
    capped: candidates.length > policy.maxStopsPerRun,
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
  const messages: StopMessage[] = candidates.map(({ job, reason }) => ({
    jobId: job.id,
    instanceId: job.instanceId,
    reason: reason ?? 'stale',
    source: REAPER_SOURCE,
    ...(job.startTime !== undefined && { runStartedAt: new Date(job.startTime).toISOString() }),
  }));
  const described = candidates.map((v) => ({
    jobId: v.job.id,
    instanceId: v.job.instanceId,
    name: v.job.name,
    reason: v.reason,
  }));

  let failedCount = 0;
  if (summary.capped) {
    logger.error('more stale jobs than maxStopsPerRun: nothing was enqueued', {
      stale: summary.stale,
      maxStopsPerRun: policy.maxStopsPerRun,
      candidates: described.slice(0, 50),
    });
  } else if (policy.dryRun) {
    logger.info('dry run: stale jobs that would be stopped', { candidates: described });
  } else if (messages.length > 0) {
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
      if (!notSent.has(messages[index] as StopMessage)) logger.info('stale job enqueued for stop', candidate);
    });
  }

  metrics.addMetric('JobsScanned', MetricUnit.Count, summary.scanned);
  metrics.addMetric('StaleJobs', MetricUnit.Count, summary.stale);
  metrics.addMetric('StopsEnqueued', MetricUnit.Count, summary.enqueued);
  metrics.addMetric('ReaperCapped', MetricUnit.Count, summary.capped ? 1 : 0);
  metrics.addMetric('JobsUnreachable', MetricUnit.Count, summary.unreachable);
  logger.info('reaper run', { summary });

  if (failedCount > 0) throw new EnqueueError(`${failedCount} stale job(s) could not be enqueued`);
  return summary;
}
