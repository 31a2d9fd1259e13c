import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyResultV2, Context } from 'aws-lambda';
import {
  getAnnouncer,
  getConfig,
  getLakeFormationClient,
  getLedger,
  loadWebhookKeys,
  prepareLakeFormationClient,
} from '../lib/container/container.js';
import { stopOnce } from '../lib/domain/ledger/stop-once.js';
import { countOutcome } from '../lib/domain/outcomes.js';
import { requestBody } from '../lib/edge/http/body.js';
import { callerAuthentication, callerName } from '../lib/edge/http/caller-auth.js';
import { problemResponses } from '../lib/edge/http/error-handler.js';
import type { StopJobEvent } from '../lib/edge/http/event.js';
import { idempotencyKeys, singleUseSignatures } from '../lib/edge/http/idempotency.js';
import { stopResultResponse } from '../lib/edge/http/responses.js';
import { stopRequest } from '../lib/edge/http/stop-route.js';
import { failureMapping } from '../lib/edge/middleware/failure-mapping.js';
import {
  injectLakeFormation,
  type LakeFormationContext,
} from '../lib/edge/middleware/inject-lake-formation.js';
import { logging } from '../lib/edge/middleware/logging.js';
import { logger } from '../lib/platform/logger.js';
import { metrics } from '../lib/platform/metrics.js';

const config = getConfig(['webhookSecretId', 'ledgerTable', 'confirmQueueUrl', 'eventBusName']);

/** `POST /jobs/{jobId}/stop` and `POST /instances/{instanceId}/jobs/{jobId}/stop`. */
export async function stopJob(
  event: StopJobEvent,
  { lakeFormation, deadline }: LakeFormationContext,
): Promise<APIGatewayProxyResultV2> {
  const { instanceId, jobId, reason, runStartedAt } = event.stopRequest;
  const caller = event.caller && callerName(event.caller);
  const request = {
    source: 'webhook',
    ...(caller !== undefined && { caller }),
    ...(reason !== undefined && { reason }),
    at: new Date().toISOString(),
  };
  const { result, stopId, joined } = await stopOnce(
    { client: lakeFormation, ledger: getLedger(), announce: getAnnouncer() },
    { instanceId, jobId },
    { ...(runStartedAt !== undefined && { runStartedAt }), requests: [request] },
    { deadline },
  );
  logger.info('stop outcome', {
    ...result,
    stopId,
    joined,
    source: 'webhook',
    caller,
    reason,
    ...(runStartedAt !== undefined && { runStartedAt: new Date(runStartedAt).toISOString() }),
  });
  countOutcome(result.outcome);
  return stopResultResponse(result, stopId);
}

export const handler = middy<StopJobEvent, APIGatewayProxyResultV2, Error, Context>()
  .use(logging<StopJobEvent>({ correlationId: (event) => event.requestContext?.requestId }))
  .use(logMetrics(metrics))
  .use(problemResponses())
  .use(httpHeaderNormalizer())
  .use(requestBody())
  // a cold container reads its IAM credentials while it reads the caller keys (never an IAM call)
  .before(prepareLakeFormationClient)
  .use(callerAuthentication({ keys: loadWebhookKeys }))
  .use(
    stopRequest({
      defaultInstanceId: config.instanceId,
      allowedInstanceIds: config.allowedInstanceIds,
      signedJobRequired: config.signedJobRequired,
    }),
  )
  .use(idempotencyKeys({ ledger: getLedger }))
  .use(singleUseSignatures({ ledger: getLedger }))
  .use(injectLakeFormation({ client: getLakeFormationClient }))
  .use(failureMapping())
  .handler(stopJob);
