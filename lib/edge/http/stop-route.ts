import { parseStopBody, type Read, type Refusal, readId, type StopBody } from '../../domain/stop-request.js';
import type { HttpMiddleware, StopJobEvent, WebhookEvent } from './event.js';
import { ProblemError } from './problems.js';

/** The request part `read`, or its refusal as the webhook answers it (a 400 naming the field at fault). */
export function accepted<T>(read: Read<T>): T {
  if (read.ok) return read.value;
  const { kind, message, field }: Refusal = read.refusal;
  throw new ProblemError(kind, message, field ? { members: { field } } : {});
}

/**
 * A body may name the job (and instance) it is about: the signature covers the body but not the
 * path, so a caller who names them binds a signed request to that one job. Named, they must be the
 * path's.
 */
export function checkBinding(body: StopBody, jobId: string, instanceId: string): void {
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
 * `WEBHOOK_SIGNED_JOB_REQUIRED`: a signed body must name the job it is for, and the instance when the
 * path names one; otherwise its signature could be replayed against another job's path within its
 * window (the signature covers the body, not the path).
 */
export function requireSignedBinding(event: WebhookEvent, body: StopBody): void {
  if (event.caller?.method !== 'hmac') return;
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
}): HttpMiddleware<StopJobEvent> {
  return {
    before: ({ event }) => {
      const jobId = accepted(readId('jobId', event.pathParameters?.jobId));
      const instanceId = accepted(
        readId('instanceId', event.pathParameters?.instanceId ?? defaultInstanceId),
      );
      const body = accepted(parseStopBody(event.rawBody.toString('utf8')));
      checkBinding(body, jobId, instanceId);
      if (signedJobRequired) requireSignedBinding(event, body);
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
