import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { classifyFailure } from '../../domain/failures.js';
import {
  isTextUpTo,
  MAX_REASON_LENGTH,
  parseRunStartedAt,
  RUN_STARTED_AT_RULE,
} from '../../domain/stop-request.js';
import { logger } from '../../platform/logger.js';
import { metrics } from '../../platform/metrics.js';
import { isValidId } from '../../upstream/lakeformation/ids.js';
import { StopFailedError } from '../middleware/failure-mapping.js';
import { authenticateCaller } from './caller-auth.js';
import { ProblemError, problemResponse } from './problems.js';
import { failureResponse } from './responses.js';
import type { WebhookKeys } from './webhook-keys.js';

/** What the request-phase middlewares add to the API Gateway event. */
export interface StopJobEvent extends APIGatewayProxyEventV2 {
  /** The body as received, base64 decoded when `isBase64Encoded`. */
  rawBody: Buffer;
  caller?: { method: 'hmac' | 'bearer' };
  stopRequest: { instanceId: string; jobId: string; reason?: string; runStartedAt?: number };
}

type HttpMiddleware = MiddlewareObj<StopJobEvent, APIGatewayProxyResultV2, Error>;

/** Largest body accepted. */
export const MAX_BODY_BYTES = 16 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/** Standard base64 (RFC 4648 §4), as API Gateway encodes a body; padding optional. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/**
 * Decodes the body (base64 when API Gateway says so), rejects bodies over `maxBytes` (413) and
 * non-empty bodies whose content type is not JSON (415). A missing content type is read as JSON.
 */
export function requestBody({ maxBytes = MAX_BODY_BYTES }: { maxBytes?: number } = {}): HttpMiddleware {
  return {
    before: ({ event }) => {
      const body = event.body ?? '';
      // A base64 text is 4/3 of its bytes: refuse the obviously oversized before decoding.
      if (body.length > (event.isBase64Encoded ? Math.ceil((maxBytes * 4) / 3) + 4 : maxBytes * 4)) {
        throw new ProblemError('PAYLOAD_TOO_LARGE', `the body must be at most ${maxBytes} bytes`);
      }
      // Node decodes what it can of anything and drops the rest: a body that is not base64 would be
      // read as another (often empty) body, and the stop made
      if (event.isBase64Encoded && !BASE64.test(body)) {
        throw new ProblemError(
          'INVALID_REQUEST',
          'the body is marked base64-encoded but is not valid base64',
        );
      }
      const raw = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
      if (raw.length > maxBytes) {
        throw new ProblemError('PAYLOAD_TOO_LARGE', `the body must be at most ${maxBytes} bytes`);
      }
      const contentType = event.headers?.['content-type'];
      if (raw.length > 0 && contentType !== undefined && !JSON_TYPE.test(contentType.trim())) {
        throw new ProblemError('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
      }
      event.rawBody = raw;
    },
  };
}

/**
 * Caller authentication: bearer token or HMAC signature, keys from `keys()` (cached). A caller who
 * fails gets 401 and nothing further runs: no LakeFormation call, no IAM call.
 */
export function callerAuthentication({
  keys,
  now = Date.now,
}: {
  keys: () => Promise<WebhookKeys>;
  now?: () => number;
}): HttpMiddleware {
  return {
    before: async ({ event }) => {
      const result = authenticateCaller(
        event.headers ?? {},
        event.rawBody,
        await keys(),
        Math.floor(now() / 1000),
      );
      if (!result.ok) {
        throw new ProblemError('UNAUTHENTICATED', result.detail, {
          headers: { 'WWW-Authenticate': 'Bearer, HMAC-SHA256 headers="X-Timestamp X-Signature"' },
        });
      }
      event.caller = { method: result.method };
    },
  };
}

/**
 * What a request body may say: why, which run of the job (its `start_time`, epoch ms), and (to bind
 * a signed body to one job) which job.
 */
interface StopBody {
  reason?: string;
  runStartedAt?: number;
  jobId?: unknown;
  instanceId?: unknown;
}

const BODY_FIELDS = new Set(['reason', 'runStartedAt', 'jobId', 'instanceId']);

function parseBody(raw: Buffer): StopBody {
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProblemError('INVALID_REQUEST', 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProblemError('INVALID_REQUEST', 'the body must be a JSON object such as {"reason": "..."}');
  }
  const unknown = Object.keys(body).filter((key) => !BODY_FIELDS.has(key));
  if (unknown.length > 0) {
    throw new ProblemError(
      'INVALID_REQUEST',
      `unknown field(s) in the body: ${unknown.slice(0, 5).join(', ')}`,
    );
  }
  const { reason, runStartedAt, jobId, instanceId } = body as Record<string, unknown>;
  if (reason !== undefined && !isTextUpTo(reason, MAX_REASON_LENGTH)) {
    throw new ProblemError(
      'INVALID_REQUEST',
      `reason must be a string of at most ${MAX_REASON_LENGTH} characters`,
    );
  }
  const runStart = parseRunStartedAt(runStartedAt);
  if (runStartedAt !== undefined && runStart === undefined) {
    throw new ProblemError('INVALID_REQUEST', RUN_STARTED_AT_RULE, { members: { field: 'runStartedAt' } });
  }
  return {
    ...(reason !== undefined && { reason: reason as string }),
    ...(runStart !== undefined && { runStartedAt: runStart }),
    ...(jobId !== undefined && { jobId }),
    ...(instanceId !== undefined && { instanceId }),
  };
}

/**
 * A body may name the job (and instance) it is about: the signature covers the body but not the
 * path, so a caller who names them binds a signed request to that one job. Named, they must be the
 * path's.
 */
function checkBinding(body: StopBody, jobId: string, instanceId: string): void {
  for (const [field, expected] of [
    ['jobId', jobId],
    ['instanceId', instanceId],
  ] as const) {
    const named = body[field];
    if (named !== undefined && named !== expected) {
      throw new ProblemError('INVALID_REQUEST', `the body's ${field} is not the one the path names`, {
        members: { field },
      });
    }
  }
}

/**
 * Input validation, then the instance allow-list: a malformed id is a 400 before a well-formed but
 * unlisted instance is a 403.
 */
export function stopRequest({
  defaultInstanceId,
  allowedInstanceIds,
  signedJobRequired = false,
}: {
  defaultInstanceId: string;
  allowedInstanceIds: ReadonlySet<string>;
  /**
   * A signed request whose body does not name its `jobId`, or the `instanceId` its path names, is
   * refused (400).
   */
  signedJobRequired?: boolean;
}): HttpMiddleware {
  return {
    before: ({ event }) => {
      const jobId = event.pathParameters?.jobId;
      const instanceId = event.pathParameters?.instanceId ?? defaultInstanceId;
      if (!isValidId(jobId)) {
        throw new ProblemError('INVALID_REQUEST', 'jobId must be 1-64 letters, digits or dashes', {
          members: { field: 'jobId' },
        });
      }
      if (!isValidId(instanceId)) {
        throw new ProblemError('INVALID_REQUEST', 'instanceId must be 1-64 letters, digits or dashes', {
          members: { field: 'instanceId' },
        });
      }
      const body = parseBody(event.rawBody);
      checkBinding(body, jobId, instanceId);
      if (signedJobRequired && event.caller?.method === 'hmac') {
        if (body.jobId === undefined) {
          throw new ProblemError(
            'INVALID_REQUEST',
            'a signed body must name the jobId it is for (this service requires it): sign {"jobId": "...", ...}',
            { members: { field: 'jobId' } },
          );
        }
        // a body naming only its job would also reach that job id on any other allowed instance
        if (event.pathParameters?.instanceId !== undefined && body.instanceId === undefined) {
          throw new ProblemError(
            'INVALID_REQUEST',
            'a signed body for a path that names an instance must name that instanceId too (this service requires it): sign {"jobId": "...", "instanceId": "...", ...}',
            { members: { field: 'instanceId' } },
          );
        }
      }
      const { reason, runStartedAt } = body;
      if (!allowedInstanceIds.has(instanceId)) {
        throw new ProblemError(
          'INSTANCE_NOT_ALLOWED',
          `instance ${instanceId} is not one this service may act on`,
        );
      }
      event.stopRequest = {
        instanceId,
        jobId,
        ...(reason !== undefined && { reason }),
        ...(runStartedAt !== undefined && { runStartedAt }),
      };
    },
  };
}

/**
 * The HTTP error handler: renders any error as `application/problem+json`. Register it right after
 * the logger so that its `onError` runs last, after every other middleware had its say.
 */
export function problemResponses(): HttpMiddleware {
  return {
    onError: (request) => {
      const error = request.error;
      if (error instanceof ProblemError) {
        logger.info('request rejected', { code: error.code, detail: error.detail });
        metrics.addMetric('RequestRejected', MetricUnit.Count, 1);
        request.response = problemResponse(error.code, error.detail, error.options);
        return;
      }
      const failure = error instanceof StopFailedError ? error.failure : classifyFailure(error);
      if (!(error instanceof StopFailedError)) {
        logger.error('request failed', { failure: failure.kind, error: error ?? undefined });
      }
      metrics.addMetric(
        failure.kind === 'INTERNAL' ? 'InternalError' : 'RetryableFailure',
        MetricUnit.Count,
        1,
      );
      request.response = failureResponse(failure);
    },
  };
}
