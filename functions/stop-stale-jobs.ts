import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import {
  getConfig,
  getEventBridgeClient,
  getLakeFormationClient,
  getSqsClient,
  getStalePolicy,
} from '../lib/container/container.js';
import { publishEvents } from '../lib/domain/lifecycle/events.js';
import { type ReaperSummary, runReaper } from '../lib/domain/reaper/reaper.js';
import { failureMapping } from '../lib/edge/middleware/failure-mapping.js';
import {
  injectLakeFormation,
  type LakeFormationContext,
} from '../lib/edge/middleware/inject-lake-formation.js';
import { logging } from '../lib/edge/middleware/logging.js';
import { metrics } from '../lib/platform/metrics.js';

const config = getConfig(['stopQueueUrl']);
// An invalid policy fails the cold start, naming the field.
const policy = getStalePolicy();

/** Scans every allowed instance for stale jobs and queues their stop. */
export async function stopStaleJobs(
  _event: ScheduledEvent,
  { lakeFormation, deadline }: LakeFormationContext,
): Promise<ReaperSummary> {
  const summary = await runReaper({
    client: lakeFormation,
    sqs: getSqsClient,
    queueUrl: config.stopQueueUrl,
    policy,
    instanceIds: [...config.allowedInstanceIds],
    now: Date.now(),
    deadline,
  });
  if (summary.capped && config.eventBusName !== undefined) {
    const detail = {
      instanceIds: [...config.allowedInstanceIds],
      stale: summary.stale,
      maxStopsPerRun: policy.maxStopsPerRun,
    };
    await publishEvents(getEventBridgeClient, config.eventBusName, [{ type: 'Reaper Capped', detail }]);
  }
  return summary;
}

export const handler = middy<ScheduledEvent, ReaperSummary, Error, Context>()
  .use(logging())
  .use(logMetrics(metrics))
  .use(injectLakeFormation({ client: getLakeFormationClient, deadlineMarginMs: 10_000 }))
  .use(failureMapping())
  .handler(stopStaleJobs);
