import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { getConfig } from '../lib/container/config.js';
import { getLakeFormationClient, getSqsClient } from '../lib/container/container.js';
import { parsePolicy } from '../lib/domain/reaper/policy.js';
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
const policy = parsePolicy(config.staleJobPolicy);

/** Scans every allowed instance for stale jobs and queues their stop. */
export async function stopStaleJobs(_event: ScheduledEvent, context: Context): Promise<ReaperSummary> {
  const { lakeFormation, deadline } = context as LakeFormationContext;
  return runReaper({
    client: lakeFormation,
    sqs: getSqsClient,
    queueUrl: config.stopQueueUrl,
    policy,
    instanceIds: [...config.allowedInstanceIds],
    now: Date.now(),
    deadline,
  });
}

export const handler = middy<ScheduledEvent, ReaperSummary, Error>(stopStaleJobs)
  .use(logging())
  .use(logMetrics(metrics))
  .use(injectLakeFormation({ client: () => getLakeFormationClient(config), deadlineMarginMs: 10_000 }))
  .use(failureMapping());
