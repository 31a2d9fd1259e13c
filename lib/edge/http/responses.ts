import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Failure } from '../../domain/failures.js';
import { OUTCOMES, type StopResult } from '../../domain/outcomes.js';
import { jsonResponse, problemResponse } from './problems.js';

/**
 * The HTTP answer for a stop outcome: 202 and 200 carry `{"jobId","instanceId","outcome","status"?}`
 * (`RUN_CHANGED` also `detail`: which run the job is on);
 * `NOT_FOUND` and `NOT_STOPPABLE` are problems carrying `jobId`, `instanceId`, `outcome` (and `jobStatus`).
 * With a `stopId` (the receipt: every outcome the ledger recorded), every answer carries it, and a 202
 * also `Location: /stops/{stopId}`.
 */
export function stopResultResponse(result: StopResult, stopId?: string): APIGatewayProxyStructuredResultV2 {
  const members = {
    jobId: result.jobId,
    instanceId: result.instanceId,
    outcome: result.outcome,
    ...(stopId !== undefined && { stopId }),
  };
  switch (result.outcome) {
    case 'STOP_REQUESTED': {
      const accepted = jsonResponse(202, members);
      if (stopId !== undefined) accepted.headers = { ...accepted.headers, Location: `/stops/${stopId}` };
      return accepted;
    }
    case 'NOT_RUNNING':
      return jsonResponse(200, { ...members, status: result.status });
    case 'RUN_CHANGED':
      return jsonResponse(200, { ...members, status: result.status, detail: result.detail });
    case 'NOT_FOUND':
      return problemResponse(
        OUTCOMES.NOT_FOUND.failure,
        `LakeFormation has no job ${result.jobId} in instance ${result.instanceId}`,
        {
          members,
        },
      );
    case 'NOT_STOPPABLE':
      return problemResponse(
        OUTCOMES.NOT_STOPPABLE.failure,
        `LakeFormation refused to stop job ${result.jobId} in status ${result.status ?? 'unknown'}${result.detail ? ` (${result.detail})` : ''}`,
        // `status` is the problem's HTTP status (RFC 9457), so the job's goes in `jobStatus`.
        { members: { ...members, jobStatus: result.status } },
      );
  }
}

/** The HTTP answer for a failure: 429 with `Retry-After`, 502, 504, or 500 for a defect of ours. */
export function failureResponse(failure: Failure): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = {};
  if (failure.retryAfterSeconds !== undefined) headers['Retry-After'] = String(failure.retryAfterSeconds);
  const upstream = failure.upstream;
  return problemResponse(failure.kind, failure.detail, {
    headers,
    ...(upstream && {
      members: {
        upstream: {
          ...(upstream.status !== undefined && { status: upstream.status }),
          ...(upstream.errorCode !== undefined && { error_code: upstream.errorCode }),
          ...(upstream.errorMsg !== undefined && { error_msg: upstream.errorMsg }),
          ...(upstream.requestId !== undefined && { request_id: upstream.requestId }),
        },
      },
    }),
  });
}
