import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { Caller } from './caller-auth.js';

/** What the request-phase middlewares add to the API Gateway event. */
export interface StopJobEvent extends APIGatewayProxyEventV2 {
  /** The body as received, base64 decoded when `isBase64Encoded`. */
  rawBody: Buffer;
  caller?: Caller;
  /** The request's `Idempotency-Key`, once it is this request's to answer (edge/http/idempotency.ts). */
  idempotency?: { scope: string; key: string; requestHash: string };
  /** The request's signature was recorded as used (edge/http/idempotency.ts). */
  signatureUsed?: boolean;
  stopRequest: { instanceId: string; jobId: string; reason?: string; runStartedAt?: number };
}

/** A middleware of the HTTP function. */
export type HttpMiddleware = MiddlewareObj<StopJobEvent, APIGatewayProxyResultV2, Error>;
