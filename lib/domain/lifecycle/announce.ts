import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { logger } from '../../platform/logger.js';
import { metrics } from '../../platform/metrics.js';
import { type CheckedRequest, type ConfirmCheck, type ConfirmSettings, firstCheck } from './confirm.js';
import { type LifecycleEvent, publishEvents } from './events.js';

/** What an announcement reads of a stop's record (a ledger record has all of it). */
export interface AnnouncedStop {
  stopId: string;
  jobId: string;
  instanceId: string;
  runStartedAt?: string;
  state: string;
  outcome: string;
  status?: string;
  detail?: string;
  requests: CheckedRequest[];
  /** Requests of the stop, kept on the record or not. */
  requestCount?: number;
  /** When the record was made, right after LakeFormation's answer: the stop's acceptance (ISO-8601). */
  createdAt?: string;
}

export interface AnnounceOptions {
  sqs: () => SQSClient;
  confirmQueueUrl: string;
  eventBridge: () => EventBridgeClient;
  busName: string;
  settings: ConfirmSettings;
  now?: () => number;
}

/** Queues a confirmation check, `delaySeconds` from now (SQS holds it back: no Lambda waits). */
export async function queueCheck(
  options: Pick<AnnounceOptions, 'sqs' | 'confirmQueueUrl'>,
  check: ConfirmCheck,
): Promise<void> {
  await options.sqs().send(
    new SendMessageCommand({
      QueueUrl: options.confirmQueueUrl,
      MessageBody: JSON.stringify(check),
      DelaySeconds: Math.min(900, Math.max(0, Math.round(check.delaySeconds))),
    }),
  );
}

/** The `Detail` every event of a stop carries. */
export function stopDetail(record: Pick<AnnouncedStop, 'stopId' | 'jobId' | 'instanceId' | 'runStartedAt'>) {
  return {
    stopId: record.stopId,
    jobId: record.jobId,
    instanceId: record.instanceId,
    ...(record.runStartedAt !== undefined && { runStartedAt: record.runStartedAt }),
  };
}

/**
 * Tells what became of a stop that was just recorded: an accepted one gets its first confirmation
 * check queued and a `Stop Requested` event, a refused one a `Stop Refused` event. Never throws: what
 * fails is logged and counted (`ConfirmQueueFailed`, `EventPublishFailed`), and the stop stands.
 */
export function stopAnnouncer(options: AnnounceOptions) {
  const now = options.now ?? Date.now;
  return async (record: AnnouncedStop): Promise<void> => {
    const request = record.requests[0];
    const base = {
      ...stopDetail(record),
      state: record.state,
      outcome: record.outcome,
      ...(request?.source !== undefined && { source: request.source }),
      ...(request?.reason !== undefined && { reason: request.reason }),
    };
    const events: LifecycleEvent[] = [];
    let queued: Promise<void> = Promise.resolve();
    if (record.outcome === 'STOP_REQUESTED') {
      events.push({ type: 'Stop Requested', detail: base });
      // accepted when the record was made (its write may have been retried since)
      const created = record.createdAt === undefined ? Number.NaN : Date.parse(record.createdAt);
      const acceptedAt = Number.isNaN(created) ? now() : Math.min(created, now());
      queued = queueCheck(options, firstCheck(record, acceptedAt, options.settings)).catch(
        (error: unknown) => {
          logger.error('the confirmation of an accepted stop could not be queued', {
            stopId: record.stopId,
            error,
          });
          metrics.addMetric('ConfirmQueueFailed', MetricUnit.Count, 1);
        },
      );
    } else if (record.outcome === 'NOT_STOPPABLE') {
      events.push({
        type: 'Stop Refused',
        detail: { ...base, status: record.status, detail: record.detail },
      });
    }
    // the check and the event are independent: sent side by side
    await Promise.all([queued, publishEvents(options.eventBridge, options.busName, events, now)]);
  };
}
