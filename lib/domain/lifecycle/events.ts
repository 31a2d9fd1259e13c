import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { logger } from '../../platform/logger.js';
import { metrics } from '../../platform/metrics.js';

/** Every event's `Source`. */
export const EVENT_SOURCE = 'lf-job-stopper';

/** The lifecycle events (docs/events.md has each one's `Detail`). */
export const EVENT_TYPES = [
  'Stop Requested',
  'Stop Confirmed',
  'Stop Retried',
  'Stop Stuck',
  'Stop Refused',
  'Job Warned',
  'Stop Snoozed',
  'Reaper Capped',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What every event of a job's stop has in `Detail` (a reaper-wide one has neither id), plus what its type needs. */
export interface EventDetail {
  jobId?: string;
  instanceId?: string;
  runStartedAt?: string;
  stopId?: string;
  state?: string;
  outcome?: string;
  source?: string;
  reason?: string;
  [field: string]: unknown;
}

export interface LifecycleEvent {
  type: EventType;
  detail: EventDetail;
}

/** `PutEvents` takes at most 10 entries. */
const BATCH = 10;
/** Sends of an entry PutEvents reports as failed, at most. */
const ATTEMPTS = 3;

/**
 * Publishes lifecycle events to `busName`, each with a unique `eventId` (kept when an entry is sent
 * again, so consumers can drop duplicates) and `at`. Entries PutEvents reports as failed are sent
 * again; what still fails is logged with a metric (`EventPublishFailed`). Never throws: an event that
 * cannot be published never fails, repeats or undoes a stop.
 *
 * @example
 * await publishEvents(getEventBridgeClient, busName, [{ type: 'Stop Stuck', detail: { jobId, instanceId, stopId } }]);
 */
export async function publishEvents(
  client: EventBridgeClient | (() => EventBridgeClient),
  busName: string,
  events: readonly LifecycleEvent[],
  now: () => number = Date.now,
): Promise<{ published: number; failed: number }> {
  if (events.length === 0) return { published: 0, failed: 0 };
  let pending: PutEventsRequestEntry[] = events.map((event) => ({
    EventBusName: busName,
    Source: EVENT_SOURCE,
    DetailType: event.type,
    Detail: JSON.stringify({ eventId: randomUUID(), at: new Date(now()).toISOString(), ...event.detail }),
  }));
  let failed = 0;
  try {
    const eventBridge = typeof client === 'function' ? client() : client;
    for (let start = 0; start < pending.length; start += BATCH) {
      let batch = pending.slice(start, start + BATCH);
      for (let attempt = 1; batch.length > 0; attempt++) {
        const result = await eventBridge.send(new PutEventsCommand({ Entries: batch }));
        const retry = batch.filter((_, index) => result.Entries?.[index]?.ErrorCode !== undefined);
        if (retry.length === 0 || attempt >= ATTEMPTS) {
          failed += retry.length;
          if (retry.length > 0) {
            logger.error('lifecycle events not published', {
              types: retry.map((entry) => entry.DetailType),
              errorCode: result.Entries?.find((entry) => entry.ErrorCode)?.ErrorCode,
            });
          }
          break;
        }
        batch = retry;
      }
    }
  } catch (error) {
    failed = pending.length;
    logger.error('lifecycle events not published', {
      types: pending.map((entry) => entry.DetailType),
      error,
    });
    pending = [];
  }
  if (failed > 0) metrics.addMetric('EventPublishFailed', MetricUnit.Count, failed);
  return { published: events.length - failed, failed };
}
