import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, ScheduledEvent } from 'aws-lambda';
import { signature } from '../../lib/edge/http/caller-auth.js';
import type { StopJobEvent } from '../../lib/edge/http/event.js';

export type HttpEventName =
  | 'http-stop-job-bearer'
  | 'http-stop-job-signed'
  | 'http-stop-job-unsigned'
  | 'http-stop-job-base64'
  | 'http-read-stop'
  | 'http-list-stops';

/** A fresh copy of a sample event from `events/`. */
export function httpEvent(name: HttpEventName): StopJobEvent {
  const text = readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8');
  return JSON.parse(text) as StopJobEvent;
}

/** A fresh copy of the scheduled (EventBridge) sample event. */
export function scheduledEvent(): ScheduledEvent {
  return JSON.parse(
    readFileSync(new URL('../../events/schedule.json', import.meta.url), 'utf8'),
  ) as ScheduledEvent;
}

/** Signs `event` (its body as received after base64 decoding) with `key` at `timestamp` (seconds). */
export function signed<T extends APIGatewayProxyEventV2>(
  event: T,
  key: string,
  timestamp = Math.floor(Date.now() / 1000),
): T {
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64')
    : Buffer.from(event.body ?? '', 'utf8');
  const headers = { ...event.headers };
  delete headers.authorization;
  headers['x-timestamp'] = String(timestamp);
  headers['x-signature'] = signature(key, String(timestamp), raw);
  return { ...event, headers };
}

/** `event` with `Authorization: Bearer <token>` and no signature headers. */
export function withBearer<T extends APIGatewayProxyEventV2>(event: T, token: string): T {
  const headers: Record<string, string | undefined> = { ...event.headers, authorization: `Bearer ${token}` };
  delete headers['x-signature'];
  delete headers['x-timestamp'];
  return { ...event, headers };
}

/**
 * `event` addressed to `jobId` (and `instanceId` when given), path parameters as API Gateway sets
 * them; a JSON body that names its job and instance is changed to name these (sign it afterwards).
 */
export function forJob<T extends APIGatewayProxyEventV2>(event: T, jobId: string, instanceId?: string): T {
  let body = event.body;
  const named = typeof body === 'string' && !event.isBase64Encoded ? jsonObject(body) : undefined;
  if (named !== undefined) {
    const { jobId: namedJob, instanceId: _namedInstance, ...rest } = named;
    body = JSON.stringify({
      ...(namedJob !== undefined && { jobId }),
      ...(namedJob !== undefined && instanceId !== undefined && { instanceId }),
      ...rest,
    });
  }
  return {
    ...event,
    ...(typeof body === 'string' && { body }),
    pathParameters: { ...(instanceId !== undefined && { instanceId }), jobId },
    rawPath: instanceId ? `/instances/${instanceId}/jobs/${jobId}/stop` : `/jobs/${jobId}/stop`,
  };
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export interface ParsedResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export function parse(response: unknown): ParsedResponse {
  const result = response as APIGatewayProxyStructuredResultV2;
  return {
    statusCode: result.statusCode ?? 0,
    headers: (result.headers ?? {}) as Record<string, string>,
    body: JSON.parse(result.body ?? 'null') as Record<string, unknown>,
  };
}
