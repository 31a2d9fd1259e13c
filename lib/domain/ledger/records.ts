import { randomBytes } from 'node:crypto';
import type { StopOutcome } from '../outcomes.js';

/**
 * A stop's life in the ledger (docs/ledger.md): `REQUESTED` while LakeFormation's 202 awaits
 * confirmation, then `CONFIRMED` or `STUCK`; a stop that ended otherwise keeps its outcome as state.
 */
export type StopState = 'REQUESTED' | 'CONFIRMED' | 'STUCK' | Exclude<StopOutcome, 'STOP_REQUESTED'>;

/** Who asked for a stop. `caller` names the credential kind and key index, never the key. */
export interface StopRequest {
  source: string;
  caller?: string;
  reason?: string;
  /** ISO-8601 UTC. */
  at: string;
}

/** A step of a stop's life (`Stop Requested`, a confirmation check, …). */
export interface StopEvent {
  at: string;
  type: string;
  detail?: Record<string, unknown>;
}

/** A stop as the ledger keeps it and the receipts show it. Times are ISO-8601 UTC. */
export interface StopRecord {
  stopId: string;
  jobId: string;
  instanceId: string;
  /** The run the stop was for (its `start_time`), when one was named. */
  runStartedAt?: string;
  state: StopState;
  outcome: StopOutcome;
  /** The job's status when it was read, for the outcomes that read it. */
  status?: string;
  detail?: string;
  createdAt: string;
  updatedAt: string;
  /** The first requests of the stop (at most {@link MAX_KEPT_REQUESTS}); `requestCount` counts them all. */
  requests: StopRequest[];
  requestCount: number;
  events: StopEvent[];
}

/** Requests kept on a record; further ones are only counted (an item must stay under 400 KB). */
export const MAX_KEPT_REQUESTS = 50;

const STOP_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * A new stop id: a UUID version 7 (RFC 9562), whose first 48 bits are the time in ms, so ids sort by
 * creation and say roughly when a stop began; the other 74 bits are random.
 *
 * @example
 * newStopId(Date.UTC(2026, 11, 1)); // '019ad7a4-5c00-7xxx-yxxx-xxxxxxxxxxxx'
 */
export function newStopId(now: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Whether `value` is a stop id this service hands out (checked before any read). */
export function isStopId(value: unknown): value is string {
  return typeof value === 'string' && STOP_ID.test(value);
}
