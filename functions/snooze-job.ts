import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import {
  getConfig,
  getEventBridgeClient,
  getLakeFormationClient,
  getLedger,
  getStalePolicy,
  getWatches,
  loadWebhookKeys,
} from '../lib/container/container.js';
import { publishEvents } from '../lib/domain/lifecycle/events.js';
import { type RunRef, type RunWatch, runStart, stopTimeOf } from '../lib/domain/run-watch.js';
import { verifyLink } from '../lib/domain/snooze/links.js';
import {
  claimedStopOf,
  type SnoozeRequest,
  type SnoozeResult,
  snoozeRun,
} from '../lib/domain/snooze/snooze.js';
import { isBase64, requestBody } from '../lib/edge/http/body.js';
import { callerAuthentication, callerName } from '../lib/edge/http/caller-auth.js';
import { problemResponses } from '../lib/edge/http/error-handler.js';
import { singleUseSignatures } from '../lib/edge/http/idempotency.js';
import { jsonResponse, ProblemError } from '../lib/edge/http/problems.js';
import {
  formatTime,
  type JobView,
  type LinkRefusal,
  refusedPage,
  snoozedPage,
  snoozeOfferPage,
} from '../lib/edge/http/snooze-pages.js';
import { type SnoozeApiEvent, snoozeRoute } from '../lib/edge/http/snooze-route.js';
import { failureMapping } from '../lib/edge/middleware/failure-mapping.js';
import {
  injectLakeFormation,
  type LakeFormationContext,
} from '../lib/edge/middleware/inject-lake-formation.js';
import { logging } from '../lib/edge/middleware/logging.js';
import { logger } from '../lib/platform/logger.js';
import { metrics } from '../lib/platform/metrics.js';

const config = getConfig(['webhookSecretId', 'ledgerTable', 'eventBusName']);
// the snooze limits are the reaper's policy's: an invalid policy fails the cold start here too
const policy = getStalePolicy();
const limits = { maxSnoozes: policy.maxSnoozes, maxSnoozeMinutes: policy.maxSnoozeMinutes };

const iso = (ms: number) => new Date(ms).toISOString();
/** A link's form body is one short field. */
const MAX_FORM_BYTES = 4096;

/** Publishes `Stop Snoozed` and logs the snooze (never the link). */
async function announce(result: Extract<SnoozeResult, { ok: true }>, request: SnoozeRequest): Promise<void> {
  const detail = {
    jobId: result.run.jobId,
    instanceId: result.run.instanceId,
    runStartedAt: iso(result.run.runStartedAt),
    name: result.job.name,
    source: request.source,
    ...(request.caller !== undefined && { caller: request.caller }),
    ...(request.reason !== undefined && { reason: request.reason }),
    minutes: result.minutes,
    snoozedUntil: iso(result.snoozedUntil),
    stopAt: iso(result.stopAt),
    snoozesLeft: result.snoozesLeft,
  };
  logger.info('stop snoozed', detail);
  await publishEvents(getEventBridgeClient, config.eventBusName, [{ type: 'Stop Snoozed', detail }]);
}

/** A watched run as the API shows it: times in ISO-8601 UTC. */
function watchView(watch: RunWatch) {
  const stopAt = stopTimeOf(watch);
  return {
    jobId: watch.jobId,
    instanceId: watch.instanceId,
    runStartedAt: iso(watch.runStartedAt),
    ...(watch.warning && {
      warning: {
        ...watch.warning,
        warnedAt: iso(watch.warning.warnedAt),
        stopAt: iso(watch.warning.stopAt),
      },
    }),
    ...(watch.snoozedUntil !== undefined && { snoozedUntil: iso(watch.snoozedUntil) }),
    ...(stopAt !== undefined && { stopAt: iso(stopAt) }),
    snoozes: watch.snoozes,
    snoozesLeft: Math.max(0, limits.maxSnoozes - watch.snoozes),
    snoozeLog: watch.snoozeLog.map((entry) => ({ ...entry, at: iso(entry.at), until: iso(entry.until) })),
    updatedAt: iso(watch.updatedAt),
  };
}

/**
 * `POST /jobs/{jobId}/snooze` (and per instance): snoozes the reaper's stop of the job's current run
 * (or the run named); `GET /jobs/{jobId}/snoozes`: the job's warned and snoozed runs, newest first.
 */
export async function snoozeApi(
  event: SnoozeApiEvent,
  { lakeFormation, deadline }: LakeFormationContext,
): Promise<APIGatewayProxyResultV2> {
  const request = event.snoozeRequest;
  const ref = { instanceId: request.instanceId, jobId: request.jobId };
  if (request.kind === 'list') {
    const watches = await getWatches().listWatches(ref, 20, Date.now());
    return jsonResponse(200, { items: watches.map(watchView) });
  }
  const caller = event.caller && callerName(event.caller);
  const snooze: SnoozeRequest = {
    ref,
    minutes: request.minutes,
    source: 'api',
    ...(request.runStartedAt !== undefined && { runStartedAt: request.runStartedAt }),
    ...(request.reason !== undefined && { reason: request.reason }),
    ...(caller !== undefined && { caller }),
  };
  const result = await snoozeRun(
    {
      client: lakeFormation,
      store: getWatches(),
      limits,
      call: { deadline },
      stopUnderWay: claimedStopOf(getLedger()),
    },
    snooze,
  );
  if (!result.ok) {
    // LINK_USED is a link's refusal: an API snooze has no link
    const kind = result.refusal === 'LINK_USED' ? 'SNOOZE_LIMIT' : result.refusal;
    throw new ProblemError(kind, result.detail, {
      members: { jobId: ref.jobId, instanceId: ref.instanceId },
    });
  }
  await announce(result, snooze);
  return jsonResponse(200, {
    jobId: result.run.jobId,
    instanceId: result.run.instanceId,
    runStartedAt: iso(result.run.runStartedAt),
    snoozedUntil: iso(result.snoozedUntil),
    stopAt: iso(result.stopAt),
    snoozesLeft: result.snoozesLeft,
  });
}

/** The link's token: from the form of a `POST`, else the query (`?t=`). */
function linkToken(event: APIGatewayProxyEventV2): string | undefined {
  const query = event.queryStringParameters?.t;
  if (event.requestContext.http.method !== 'POST' || !event.body) return query;
  // a body marked base64 that is not is no form at all (Node would decode what it could of it)
  if (event.isBase64Encoded && !isBase64(event.body)) return '';
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.length > MAX_FORM_BYTES) return '';
  return new URLSearchParams(raw.toString('utf8')).get('t') ?? query;
}

const REFUSAL_PAGE: Record<Exclude<SnoozeResult, { ok: true }>['refusal'], LinkRefusal> = {
  JOB_NOT_FOUND: 'not-found',
  JOB_NOT_RUNNING: 'not-running',
  SNOOZE_LIMIT: 'limit',
  LINK_USED: 'used',
  STOP_UNDER_WAY: 'under-way',
};

/**
 * `GET /snooze?t=`: the page that offers the snooze (it changes nothing: mail scanners open links);
 * `POST /snooze`: the button, which snoozes once and answers a confirmation. A link that is
 * malformed, tampered with, signed by an unknown key, expired or used gets a page saying which.
 * Authenticated by the signed link alone.
 */
export async function snoozeLink(
  event: APIGatewayProxyEventV2,
  { lakeFormation, deadline }: LakeFormationContext,
): Promise<APIGatewayProxyResultV2> {
  try {
    const now = Date.now();
    const token = linkToken(event);
    const check = verifyLink(token, (await loadWebhookKeys()).linkKeys ?? [], now);
    if (!check.ok) {
      logger.warn('snooze link refused', { reason: check.reason });
      if (check.reason !== 'expired') return refusedPage(check.reason);
      const { jobId, instanceId, runStartedAt } = check.link;
      return refusedPage('expired', { job: { jobId, instanceId, runStartedAt } });
    }
    const { link, linkId } = check;
    const run: RunRef = {
      instanceId: link.instanceId,
      jobId: link.jobId,
      runStartedAt: runStart(link.runStartedAt),
    };
    const watch = await getWatches().readWatch(run, now);
    const job: JobView = { ...run, ...(watch?.warning && { name: watch.warning.name }) };
    const minutes = Math.min(link.minutes, limits.maxSnoozeMinutes);
    if (watch?.usedLinks.includes(linkId)) {
      const until = stopTimeOf(watch);
      return refusedPage('used', {
        job,
        ...(until !== undefined && {
          detail: `The reaper leaves this job alone until ${formatTime(until)}.`,
        }),
      });
    }
    const snoozesLeft = Math.max(0, limits.maxSnoozes - (watch?.snoozes ?? 0));
    if (event.requestContext.http.method !== 'POST') {
      if (snoozesLeft === 0) return refusedPage('limit', { job });
      const stopAt = watch && stopTimeOf(watch);
      return snoozeOfferPage({
        job,
        minutes,
        snoozesLeft,
        token: token as string,
        ...(stopAt !== undefined && { stopAt }),
      });
    }
    const request: SnoozeRequest = {
      ref: { instanceId: run.instanceId, jobId: run.jobId },
      runStartedAt: run.runStartedAt,
      minutes,
      source: 'link',
      linkId,
    };
    const result = await snoozeRun(
      {
        client: lakeFormation,
        store: getWatches(),
        limits,
        call: { deadline },
        stopUnderWay: claimedStopOf(getLedger()),
      },
      request,
    );
    if (!result.ok) {
      logger.info('snooze refused', {
        jobId: run.jobId,
        instanceId: run.instanceId,
        refusal: result.refusal,
      });
      return refusedPage(REFUSAL_PAGE[result.refusal], { job, detail: result.detail });
    }
    // the snooze is made: whatever happens to its event, the owner is told so
    await announce(result, request).catch((error: unknown) =>
      logger.error('Stop Snoozed could not be announced', { error }),
    );
    return snoozedPage({
      job: { ...job, name: result.job.name },
      snoozedUntil: result.snoozedUntil,
      stopAt: result.stopAt,
      snoozesLeft: result.snoozesLeft,
    });
  } catch (error) {
    // LakeFormation or the ledger failed, or the link keys could not be read, before the snooze was
    // recorded (or while: a write whose answer was lost). The same link tells which on the next try.
    logger.error('snooze link could not be served', { error });
    return refusedPage('unavailable', { retryAfterSeconds: 60 });
  }
}

/** `POST /jobs/{jobId}/snooze`, `POST /instances/{instanceId}/jobs/{jobId}/snooze` and the `GET …/snoozes` routes: the caller keys authenticate. */
export const handler = middy<SnoozeApiEvent, APIGatewayProxyResultV2, Error, Context>()
  .use(logging<SnoozeApiEvent>({ correlationId: (event) => event.requestContext?.requestId }))
  .use(logMetrics(metrics))
  .use(problemResponses())
  .use(httpHeaderNormalizer())
  .use(requestBody())
  .use(callerAuthentication({ keys: loadWebhookKeys }))
  .use(
    snoozeRoute({
      defaultInstanceId: config.instanceId,
      allowedInstanceIds: config.allowedInstanceIds,
      maxSnoozeMinutes: limits.maxSnoozeMinutes,
      signedJobRequired: config.signedJobRequired,
    }),
  )
  .use(singleUseSignatures({ ledger: getLedger }))
  .use(injectLakeFormation({ client: getLakeFormationClient }))
  .use(failureMapping())
  .handler(snoozeApi);

/** `GET /snooze` and `POST /snooze`: the signed link alone authenticates (the `snoozeLink` function). */
export const linkHandler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, Context>()
  .use(logging<APIGatewayProxyEventV2>({ correlationId: (event) => event.requestContext?.requestId }))
  .use(logMetrics(metrics))
  .use(injectLakeFormation({ client: getLakeFormationClient }))
  .handler(snoozeLink);
