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

/** What became of a {@link publishEvents} call's events. */
export interface PublishResult {
  published: number;
  failed: number;
  /** The positions (in the events given) of those that could not be published, in no set order. */
  unpublished: readonly number[];
}

/** `PutEvents` takes at most 10 entries. */
const BATCH = 10;
/** Sends of an entry PutEvents reports as failed, at most. */
const ATTEMPTS = 3;
/**
 * The pause before an entry is sent again: this, doubled each time, with jitter. A failed entry is
 * mostly `ThrottlingException` (the account's PutEvents quota) or `InternalFailure`: sent again at
 * once it would fail the same way.
 */
const RESEND_PAUSE_MS = 100;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Publishes lifecycle events to `busName`, each with a unique `eventId` (kept when an entry is sent
 * again, so consumers can drop duplicates) and `at`. Entries PutEvents reports as failed are sent
 * again, after a short pause ({@link RESEND_PAUSE_MS}, doubled), up to {@link ATTEMPTS} sends in
 * all; what still fails is logged with a metric (`EventPublishFailed`). Never throws: an event that
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
  sleep: (ms: number) => Promise<void> = pause,
): Promise<PublishResult> {
  if (events.length === 0) return { published: 0, failed: 0, unpublished: [] };
  const entries = events.map((event, index) => ({
    index,
    entry: {
      EventBusName: busName,
      Source: EVENT_SOURCE,
      DetailType: event.type,
      Detail: JSON.stringify({ eventId: randomUUID(), at: new Date(now()).toISOString(), ...event.detail }),
    } satisfies PutEventsRequestEntry,
  }));
  const unpublished: number[] = [];
  for (let start = 0; start < entries.length; start += BATCH) {
    let batch = entries.slice(start, start + BATCH);
    try {
      const eventBridge = typeof client === 'function' ? client() : client;
      for (let attempt = 1; ; attempt++) {
        const result = await eventBridge.send(new PutEventsCommand({ Entries: batch.map((e) => e.entry) }));
        const answers = result.Entries ?? [];
        const retry = batch.filter((_, index) => answers[index]?.ErrorCode !== undefined);
        if (retry.length === 0) break;
        if (attempt >= ATTEMPTS) {
          unpublished.push(...retry.map((e) => e.index));
          logger.error('lifecycle events not published', {
            types: retry.map((e) => e.entry.DetailType),
            errorCode: answers.find((entry) => entry.ErrorCode)?.ErrorCode,
          });
          break;
        }
        const wait = RESEND_PAUSE_MS * 2 ** (attempt - 1);
        await sleep(wait / 2 + Math.random() * (wait / 2));
        batch = retry;
      }
    } catch (error) {
      // the SDK has retried the call itself: these entries (this batch's) are not published
      unpublished.push(...batch.map((e) => e.index));
      logger.error('lifecycle events not published', {
        types: batch.map((e) => e.entry.DetailType),
        error,
      });
    }
  }
  const failed = unpublished.length;
  if (failed > 0) metrics.addMetric('EventPublishFailed', MetricUnit.Count, failed);
  return { published: events.length - failed, failed, unpublished };
}
