import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  getAnnouncer,
  getConfig,
  getLedger,
  getQueueLakeFormationClient,
  getSqsClient,
  getWatches,
} from '../lib/container/container.js';
import {
  injectLakeFormation,
  type LakeFormationContext,
} from '../lib/edge/middleware/inject-lake-formation.js';
import { logging } from '../lib/edge/middleware/logging.js';
import { processStopBatch } from '../lib/edge/queue/stop-batch.js';
import { metrics } from '../lib/platform/metrics.js';

const config = getConfig(['stopDlqUrl', 'ledgerTable', 'confirmQueueUrl', 'eventBusName']);

/** One job per SQS message; retryable failures are reported, never swallowed. */
export async function bulkStop(
  event: SQSEvent,
  { lakeFormation, deadline }: LakeFormationContext,
): Promise<SQSBatchResponse> {
  const { response } = await processStopBatch(event.Records, {
    client: lakeFormation,
    sqs: getSqsClient,
    dlqUrl: config.stopDlqUrl,
    defaultInstanceId: config.instanceId,
    allowedInstanceIds: config.allowedInstanceIds,
    concurrency: config.stopConcurrency,
    deadline,
    ledger: getLedger(),
    announce: getAnnouncer(),
    watches: getWatches(),
    ...(config.stopQueueUrl !== undefined && {
      retries: { queueUrl: config.stopQueueUrl, backoff: config.retryBackoff },
    }),
  });
  return response;
}

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
  .use(logging())
  .use(logMetrics(metrics))
  // 5 s kept back to send dead letters and answer before the Lambda times out.
  .use(injectLakeFormation({ client: getQueueLakeFormationClient, deadlineMarginMs: 5_000 }))
  .handler(bulkStop);
