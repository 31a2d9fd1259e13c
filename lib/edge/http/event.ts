import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { Caller } from './caller-auth.js';

/** What the webhook's request-phase middlewares add to the API Gateway event, on every route. */
export interface WebhookEvent extends APIGatewayProxyEventV2 {
  /** The body as received, base64 decoded when `isBase64Encoded`. */
  rawBody: Buffer;
  caller?: Caller;
  /** The request's `Idempotency-Key`, once it is this request's to answer (edge/http/idempotency.ts). */
  idempotency?: { scope: string; key: string; requestHash: string };
  /** The request's signature was recorded as used (edge/http/idempotency.ts). */
  signatureUsed?: boolean;
}

/** The stop routes' event, its request validated (edge/http/stop-route.ts). */
export interface StopJobEvent extends WebhookEvent {
  stopRequest: { instanceId: string; jobId: string; reason?: string; runStartedAt?: number };
}

/** A middleware of the HTTP functions, for any of their routes. */
export type HttpMiddleware<E extends WebhookEvent = WebhookEvent> = MiddlewareObj<
  E,
  APIGatewayProxyResultV2,
  Error
>;
