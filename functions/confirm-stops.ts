import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  getConfig,
  getEventBridgeClient,
  getLedger,
  getQueueLakeFormationClient,
  getSqsClient,
} from '../lib/container/container.js';
import {
  injectLakeFormation,
  type LakeFormationContext,
} from '../lib/edge/middleware/inject-lake-formation.js';
import { logging } from '../lib/edge/middleware/logging.js';
import { processConfirmBatch } from '../lib/edge/queue/confirm-batch.js';
import { metrics } from '../lib/platform/metrics.js';

const config = getConfig(['ledgerTable', 'confirmQueueUrl', 'eventBusName']);

/** One confirmation check per message of the confirm queue; failed checks are retried by SQS. */
export async function confirmStops(event: SQSEvent, { lakeFormation, deadline }: LakeFormationContext) {
  return processConfirmBatch(event.Records, {
    client: lakeFormation,
    ledger: getLedger(),
    sqs: getSqsClient,
    confirmQueueUrl: config.confirmQueueUrl,
    eventBridge: getEventBridgeClient,
    busName: config.eventBusName,
    settings: config.confirm,
    backoff: config.retryBackoff,
    deadline,
  });
}

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
  .use(logging())
  .use(logMetrics(metrics))
  .use(injectLakeFormation({ client: getQueueLakeFormationClient, deadlineMarginMs: 5_000 }))
  .handler(confirmStops);
