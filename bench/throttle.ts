import type { SQSRecord } from 'aws-lambda';
import {
  getConfig,
  getLakeFormationClient,
  getQueueLakeFormationClient,
  getSqsClient,
} from '../lib/container/container.js';
import { processStopBatch } from '../lib/edge/queue/stop-batch.js';

/**
 * The throttling benchmark's entry (bundled like a function): one batch through the queue
 * function's code path, with the container's flow-controlled LakeFormation client (`flow`) or the
 * client without flow control (the behaviour before it), and without the ledger (see bench/README.md).
 */
export async function run(records: SQSRecord[], flow: boolean, deadline: number) {
  const config = getConfig(['stopDlqUrl']);
  const { reports } = await processStopBatch(records, {
    client: flow ? getQueueLakeFormationClient() : getLakeFormationClient(),
    sqs: getSqsClient,
    dlqUrl: config.stopDlqUrl,
    defaultInstanceId: config.instanceId,
    allowedInstanceIds: config.allowedInstanceIds,
    concurrency: config.stopConcurrency,
    deadline,
  });
  return reports;
}
