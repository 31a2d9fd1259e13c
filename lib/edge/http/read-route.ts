import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { isStopId } from '../../domain/ledger/records.js';
import { decodeCursor } from '../../domain/ledger/table.js';
import { readId } from '../../domain/stop-request.js';
import type { HttpMiddleware, WebhookEvent } from './event.js';
import { ProblemError } from './problems.js';

/** What `GET /stops/{stopId}` and `GET …/jobs/{jobId}/stops` ask for, validated. */
export type ReadRequest =
  | { kind: 'stop'; stopId: string }
  | {
      kind: 'job';
      instanceId: string;
      jobId: string;
      limit: number;
      cursor?: Record<string, AttributeValue>;
    };

export interface ReadStopsEvent extends WebhookEvent {
  readRequest: ReadRequest;
}

/** Stops per page of a job's history. @default 20 */
export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

/**
 * Validates a receipt or history request: the stop id, or the job and instance ids (the instance
 * allow-list applies, 403), `?limit=1..100` and a `?nextToken=` this service gave for that job.
 * serverless-offline sends `queryStringParameters: null`; API Gateway leaves it out: both are none.
 */
export function readRequest({
  defaultInstanceId,
  allowedInstanceIds,
}: {
  defaultInstanceId: string;
  allowedInstanceIds: ReadonlySet<string>;
}): HttpMiddleware<ReadStopsEvent> {
  return {
    before: ({ event }) => {
      const path = event.pathParameters ?? {};
      if (path.stopId !== undefined) {
        if (!isStopId(path.stopId)) {
          throw new ProblemError('INVALID_ID', 'stopId must be a stop id this service gave (a UUID)', {
            members: { field: 'stopId' },
          });
        }
        event.readRequest = { kind: 'stop', stopId: path.stopId };
        return;
      }
      const id = (field: 'jobId' | 'instanceId', value: unknown) => {
        const read = readId(field, value);
        if (!read.ok) throw new ProblemError(read.refusal.kind, read.refusal.message, { members: { field } });
        return read.value;
      };
      const jobId = id('jobId', path.jobId);
      const instanceId = id('instanceId', path.instanceId ?? defaultInstanceId);
      if (!allowedInstanceIds.has(instanceId)) {
        throw new ProblemError(
          'INSTANCE_NOT_ALLOWED',
          `instance ${instanceId} is not one this service may act on`,
        );
      }
      const query = event.queryStringParameters ?? {};
      const unknown = Object.keys(query).filter((name) => name !== 'limit' && name !== 'nextToken');
      if (unknown.length > 0) {
        throw new ProblemError(
          'INVALID_MESSAGE',
          `unknown query parameter(s): ${unknown.slice(0, 5).join(', ')}`,
        );
      }
      const rawLimit = query.limit ?? String(DEFAULT_PAGE);
      const limit = Number(rawLimit);
      if (!/^\d{1,3}$/.test(rawLimit) || limit < 1 || limit > MAX_PAGE) {
        throw new ProblemError('INVALID_MESSAGE', `limit must be an integer from 1 to ${MAX_PAGE}`, {
          members: { field: 'limit' },
        });
      }
      const token = query.nextToken;
      const cursor = token === undefined ? undefined : decodeCursor(token, { instanceId, jobId });
      if (token !== undefined && cursor === undefined) {
        throw new ProblemError(
          'INVALID_MESSAGE',
          "nextToken is not one this service gave for this job's stops",
          {
            members: { field: 'nextToken' },
          },
        );
      }
      event.readRequest = { kind: 'job', instanceId, jobId, limit, ...(cursor && { cursor }) };
    },
  };
}
