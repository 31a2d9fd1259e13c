import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import {
  getConfig,
  getEventBridgeClient,
  getLakeFormationClient,
  getSqsClient,
  getStalePolicy,
  getWatches,
  loadWebhookKeys,
} from '../lib/container/container.js';
import { publishEvents } from '../lib/domain/lifecycle/events.js';
import { warnsBeforeStopping } from '../lib/domain/reaper/policy.js';
import { type ReaperSummary, runReaper } from '../lib/domain/reaper/reaper.js';
import { signLink, snoozeUrl } from '../lib/domain/snooze/links.js';
import { failureMapping } from '../lib/edge/middleware/failure-mapping.js';
import {
  injectLakeFormation,
  type LakeFormationContext,
} from '../lib/edge/middleware/inject-lake-formation.js';
import { logging } from '../lib/edge/middleware/logging.js';
import { logger } from '../lib/platform/logger.js';
import { metrics } from '../lib/platform/metrics.js';

const config = getConfig(['stopQueueUrl', 'ledgerTable']);
// An invalid policy fails the cold start, naming the field.
const policy = getStalePolicy();
// Warnings go out as events, with a snooze link: a policy that warns needs the bus, the public URL
// and the secret that holds the link keys, or the cold start fails naming the missing one.
const warning = warnsBeforeStopping(policy)
  ? getConfig(['eventBusName', 'publicBaseUrl', 'webhookSecretId'])
  : undefined;

/** The snooze links of this run's warnings, signed with the first link key; none without a key. */
async function linkSigner() {
  if (!warning) return undefined;
  const [key] = (await loadWebhookKeys()).linkKeys ?? [];
  if (key === undefined) {
    logger.error('the webhook secret holds no linkKeys: warnings are sent without a snooze link', {
      secretId: warning.webhookSecretId,
    });
    return undefined;
  }
  return (link: Parameters<typeof signLink>[0]) => snoozeUrl(warning.publicBaseUrl, signLink(link, key));
}

/** Scans every allowed instance for stale jobs: warns them first (with a warning lead), then queues their stop. */
export async function stopStaleJobs(
  _event: ScheduledEvent,
  { lakeFormation, deadline }: LakeFormationContext,
): Promise<ReaperSummary> {
  const busName = config.eventBusName;
  const snoozeLink = await linkSigner();
  const summary = await runReaper({
    client: lakeFormation,
    sqs: getSqsClient,
    queueUrl: config.stopQueueUrl,
    policy,
    instanceIds: [...config.allowedInstanceIds],
    now: Date.now(),
    deadline,
    watches: getWatches(),
    // a policy that warns has the bus (checked at cold start); without one nothing is published
    publish: async (events) =>
      busName === undefined
        ? { unpublished: events.map((_, index) => index) }
        : publishEvents(getEventBridgeClient, busName, events),
    ...(snoozeLink && { snoozeLink }),
  });
  if (summary.capped && busName !== undefined) {
    const detail = {
      instanceIds: [...config.allowedInstanceIds],
      stale: summary.stale,
      maxStopsPerRun: policy.maxStopsPerRun,
    };
    await publishEvents(getEventBridgeClient, busName, [{ type: 'Reaper Capped', detail }]);
  }
  return summary;
}

export const handler = middy<ScheduledEvent, ReaperSummary, Error, Context>()
  .use(logging())
  .use(logMetrics(metrics))
  .use(injectLakeFormation({ client: getLakeFormationClient, deadlineMarginMs: 10_000 }))
  .use(failureMapping())
  .handler(stopStaleJobs);
