import { MAX_REASON_LENGTH, parseRunStartedAt, RUN_STARTED_AT_RULE } from '../../domain/stop-request.js';
import { isJsonObject } from '../../platform/objects.js';
import { isTextUpTo } from '../../platform/text.js';
import { isValidId } from '../../upstream/lakeformation/ids.js';
import type { HttpMiddleware } from './event.js';
import { ProblemError } from './problems.js';

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
    throw new ProblemError('INVALID_JSON', 'the body is not valid JSON');
  }
  if (!isJsonObject(body)) {
    throw new ProblemError('INVALID_MESSAGE', 'the body must be a JSON object such as {"reason": "..."}');
  }
  const unknown = Object.keys(body).filter((key) => !BODY_FIELDS.has(key));
  if (unknown.length > 0) {
    throw new ProblemError(
      'INVALID_MESSAGE',
      `unknown field(s) in the body: ${unknown.slice(0, 5).join(', ')}`,
    );
  }
  const { reason, runStartedAt, jobId, instanceId } = body;
  if (reason !== undefined && !isTextUpTo(reason, MAX_REASON_LENGTH)) {
    throw new ProblemError(
      'INVALID_MESSAGE',
      `reason must be a string of at most ${MAX_REASON_LENGTH} characters`,
    );
  }
  const runStart = parseRunStartedAt(runStartedAt);
  if (runStartedAt !== undefined && runStart === undefined) {
    throw new ProblemError('INVALID_MESSAGE', RUN_STARTED_AT_RULE, { members: { field: 'runStartedAt' } });
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
      throw new ProblemError('INVALID_MESSAGE', `the body's ${field} is not the one the path names`, {
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
        throw new ProblemError('INVALID_ID', 'jobId must be 1-64 letters, digits or dashes', {
          members: { field: 'jobId' },
        });
      }
      if (!isValidId(instanceId)) {
        throw new ProblemError('INVALID_ID', 'instanceId must be 1-64 letters, digits or dashes', {
          members: { field: 'instanceId' },
        });
      }
      const body = parseBody(event.rawBody);
      checkBinding(body, jobId, instanceId);
      if (signedJobRequired && event.caller?.method === 'hmac') {
        if (body.jobId === undefined) {
          throw new ProblemError(
            'INVALID_MESSAGE',
            'a signed body must name the jobId it is for (this service requires it): sign {"jobId": "...", ...}',
            { members: { field: 'jobId' } },
          );
        }
        // a body naming only its job would also reach that job id on any other allowed instance
        if (event.pathParameters?.instanceId !== undefined && body.instanceId === undefined) {
          throw new ProblemError(
            'INVALID_MESSAGE',
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
