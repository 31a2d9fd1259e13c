import { isJsonObject } from '../platform/objects.js';
import { isTextUpTo } from '../platform/text.js';
import { parseTimestamp } from '../platform/time.js';
import { isValidId } from '../upstream/lakeformation/ids.js';

/** One job per queue message (JSON Schema: docs/stop-message.schema.json). */
export interface StopMessage {
  jobId: string;
  /** Defaults to `LAKEFORMATION_INSTANCE_ID`. */
  instanceId?: string;
  reason?: string;
  /** Who asked, e.g. `stale-job-reaper`. */
  source?: string;
  /**
   * The job's `start_time` as the producer read it (ISO-8601): only the run that started then is
   * stopped. A job re-run since (another `start_time`) is left alone, with the outcome `RUN_CHANGED`.
   */
  runStartedAt?: string;
}

export const MAX_REASON_LENGTH = 256;
export const MAX_SOURCE_LENGTH = 64;
export const MAX_RUN_STARTED_AT_LENGTH = 40;

/**
 * Reads a `runStartedAt` (an ISO-8601 timestamp, with or without fractional seconds and zone, as
 * LakeFormation writes `start_time`) into epoch milliseconds; `undefined` when it is not one.
 */
export function parseRunStartedAt(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length > MAX_RUN_STARTED_AT_LENGTH || value.trim() !== value) {
    return undefined;
  }
  return parseTimestamp(value);
}

export const RUN_STARTED_AT_RULE =
  'runStartedAt must be an ISO-8601 timestamp such as 2026-05-27T10:04:35.743Z';

const FIELDS = new Set(['jobId', 'instanceId', 'reason', 'source', 'runStartedAt']);

/** Why a message can never succeed; sent as the `errorCode` attribute of its DLQ copy. */
export const INVALID_MESSAGE_CODES = ['INVALID_JSON', 'INVALID_MESSAGE', 'INVALID_ID'] as const;
export type InvalidMessageCode = (typeof INVALID_MESSAGE_CODES)[number];

export type MessageCheck =
  | { ok: true; message: StopMessage }
  | { ok: false; errorCode: InvalidMessageCode; errorMessage: string };

function invalid(errorCode: InvalidMessageCode, errorMessage: string): MessageCheck {
  return { ok: false, errorCode, errorMessage };
}

/** Checks a decoded message against the schema. */
export function checkStopMessage(value: unknown): MessageCheck {
  if (!isJsonObject(value)) {
    return invalid('INVALID_MESSAGE', 'the body must be a JSON object such as {"jobId": "..."}');
  }
  const record = value;
  const unknown = Object.keys(record).filter((key) => !FIELDS.has(key));
  if (unknown.length > 0)
    return invalid('INVALID_MESSAGE', `unknown field(s): ${unknown.slice(0, 5).join(', ')}`);
  const { jobId, instanceId, reason, source, runStartedAt } = record;
  if (jobId === undefined) return invalid('INVALID_MESSAGE', 'jobId is required');
  if (!isValidId(jobId)) return invalid('INVALID_ID', 'jobId must be 1-64 letters, digits or dashes');
  if (instanceId !== undefined && !isValidId(instanceId)) {
    return invalid('INVALID_ID', 'instanceId must be 1-64 letters, digits or dashes');
  }
  if (reason !== undefined && !isTextUpTo(reason, MAX_REASON_LENGTH)) {
    return invalid('INVALID_MESSAGE', `reason must be a string of at most ${MAX_REASON_LENGTH} characters`);
  }
  if (source !== undefined && !isTextUpTo(source, MAX_SOURCE_LENGTH)) {
    return invalid('INVALID_MESSAGE', `source must be a string of at most ${MAX_SOURCE_LENGTH} characters`);
  }
  if (runStartedAt !== undefined && parseRunStartedAt(runStartedAt) === undefined) {
    return invalid('INVALID_MESSAGE', RUN_STARTED_AT_RULE);
  }
  const message: StopMessage = { jobId };
  if (instanceId !== undefined) message.instanceId = instanceId as string;
  if (reason !== undefined) message.reason = reason as string;
  if (source !== undefined) message.source = source as string;
  if (runStartedAt !== undefined) message.runStartedAt = runStartedAt as string;
  return { ok: true, message };
}

/** Parses and checks a message body as received from SQS. */
export function parseStopMessage(body: string): MessageCheck {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return invalid('INVALID_JSON', 'the body is not valid JSON');
  }
  return checkStopMessage(value);
}
