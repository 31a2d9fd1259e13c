import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { getConfig, getLedger, loadWebhookKeys } from '../lib/container/container.js';
import { encodeCursor } from '../lib/domain/ledger/table.js';
import { requestBody } from '../lib/edge/http/body.js';
import { callerAuthentication } from '../lib/edge/http/caller-auth.js';
import { problemResponses } from '../lib/edge/http/error-handler.js';
import { singleUseSignatures } from '../lib/edge/http/idempotency.js';
import { jsonResponse, ProblemError } from '../lib/edge/http/problems.js';
import { type ReadStopsEvent, readRequest } from '../lib/edge/http/read-route.js';
import { failureMapping } from '../lib/edge/middleware/failure-mapping.js';
import { logging } from '../lib/edge/middleware/logging.js';
import { metrics } from '../lib/platform/metrics.js';

const config = getConfig(['webhookSecretId', 'ledgerTable']);

/** `GET /stops/{stopId}`: a receipt; `GET /jobs/{jobId}/stops` (and per instance): a job's stops, newest first. */
export async function readStops(event: ReadStopsEvent): Promise<APIGatewayProxyResultV2> {
  const request = event.readRequest;
  const now = Date.now();
  if (request.kind === 'stop') {
    const record = await getLedger().getStop(request.stopId, now);
    if (!record) throw new ProblemError('STOP_NOT_FOUND', `the ledger has no stop ${request.stopId}`);
    return jsonResponse(200, record);
  }
  const { instanceId, jobId, limit, cursor } = request;
  const page = await getLedger().listStops({ instanceId, jobId }, { limit, now, ...(cursor && { cursor }) });
  return jsonResponse(200, { items: page.records, ...(page.next && { nextToken: encodeCursor(page.next) }) });
}

export const handler = middy<ReadStopsEvent, APIGatewayProxyResultV2, Error, Context>()
  .use(logging<ReadStopsEvent>({ correlationId: (event) => event.requestContext?.requestId }))
  .use(logMetrics(metrics))
  .use(problemResponses())
  .use(httpHeaderNormalizer())
  .use(requestBody())
  .use(callerAuthentication({ keys: loadWebhookKeys }))
  .use(readRequest({ defaultInstanceId: config.instanceId, allowedInstanceIds: config.allowedInstanceIds }))
  .use(singleUseSignatures({ ledger: getLedger }))
  .use(failureMapping())
  .handler(readStops);
