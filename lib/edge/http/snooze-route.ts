import { parseSnoozeBody, readId } from '../../domain/stop-request.js';
import type { HttpMiddleware, WebhookEvent } from './event.js';
import { ProblemError } from './problems.js';
import { accepted, checkBinding, requireSignedBinding } from './stop-route.js';

/** What `POST …/jobs/{jobId}/snooze` and `GET …/jobs/{jobId}/snoozes` ask for, validated. */
export type SnoozeApiRequest =
  | {
      kind: 'snooze';
      instanceId: string;
      jobId: string;
      minutes: number;
      reason?: string;
      runStartedAt?: number;
    }
  | { kind: 'list'; instanceId: string; jobId: string };

export interface SnoozeApiEvent extends WebhookEvent {
  snoozeRequest: SnoozeApiRequest;
}

/**
 * Validates a snooze request of the authenticated API: the ids (the instance allow-list applies,
 * 403), and for a `POST` the body `{"minutes": 1..maxSnoozeMinutes, "reason"?, "runStartedAt"?}`
 * (naming `jobId`/`instanceId` only as the path does, as a stop body may).
 */
export function snoozeRoute({
  defaultInstanceId,
  allowedInstanceIds,
  maxSnoozeMinutes,
  signedJobRequired = false,
}: {
  defaultInstanceId: string;
  allowedInstanceIds: ReadonlySet<string>;
  maxSnoozeMinutes: number;
  /** As for a stop: a signed snooze body must name its `jobId` (and the path's instance). */
  signedJobRequired?: boolean;
}): HttpMiddleware<SnoozeApiEvent> {
  return {
    before: ({ event }) => {
      const jobId = accepted(readId('jobId', event.pathParameters?.jobId));
      const instanceId = accepted(
        readId('instanceId', event.pathParameters?.instanceId ?? defaultInstanceId),
      );
      const listing = event.requestContext?.http?.method === 'GET';
      const body = listing
        ? undefined
        : accepted(parseSnoozeBody(event.rawBody.toString('utf8'), maxSnoozeMinutes));
      if (body) {
        checkBinding(body, jobId, instanceId);
        if (signedJobRequired) requireSignedBinding(event, body);
      }
      if (!allowedInstanceIds.has(instanceId)) {
        throw new ProblemError(
          'INSTANCE_NOT_ALLOWED',
          `instance ${instanceId} is not one this service may act on`,
        );
      }
      event.snoozeRequest = body
        ? {
            kind: 'snooze',
            instanceId,
            jobId,
            minutes: body.minutes,
            ...(body.reason !== undefined && { reason: body.reason }),
            ...(body.runStartedAt !== undefined && { runStartedAt: body.runStartedAt }),
          }
        : { kind: 'list', instanceId, jobId };
    },
  };
}
