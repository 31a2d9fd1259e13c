import { isJsonObject } from '../platform/objects.js';
import { isTextUpTo } from '../platform/text.js';
import { parseTimestamp } from '../platform/time.js';
import { isValidId } from '../upstream/lakeformation/ids.js';
import type { FailureKind } from './failures.js';

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

/** The failures a stop request can be refused for as it is read; each is a row of domain/failures.ts. */
export type InvalidRequestKind = Extract<FailureKind, 'INVALID_JSON' | 'INVALID_MESSAGE' | 'INVALID_ID'>;

/** Why a stop request is refused as it is read. */
export interface Refusal {
  kind: InvalidRequestKind;
  message: string;
  /** The field at fault, where the webhook names it to its caller (an id, the run). */
  field?: 'jobId' | 'instanceId' | 'runStartedAt';
}

/** What one entry point's stop request may hold, and how it is told so. */
interface Shape {
  fields: ReadonlySet<string>;
  /** A request such as this one, for the caller who sent something that is not an object. */
  example: string;
  /** Where the unknown fields were found, if that needs saying. */
  unknownIn: string;
  required: readonly string[];
  /** Fields that must be job or instance ids. (The webhook's may only repeat its path, which it checks.) */
  ids: readonly ('jobId' | 'instanceId')[];
  /** Text fields, and how many characters each may have. */
  texts: Readonly<Record<string, number>>;
}

/** A queue message (docs/stop-message.schema.json). */
const QUEUE_MESSAGE: Shape = {
  fields: new Set(['jobId', 'instanceId', 'reason', 'source', 'runStartedAt']),
  example: '{"jobId": "..."}',
  unknownIn: '',
  required: ['jobId'],
  ids: ['jobId', 'instanceId'],
  texts: { reason: MAX_REASON_LENGTH, source: MAX_SOURCE_LENGTH },
};

/** The webhook's body (docs/openapi.yaml, requestBodies.Stop). */
const HTTP_BODY: Shape = {
  fields: new Set(['reason', 'runStartedAt', 'jobId', 'instanceId']),
  example: '{"reason": "..."}',
  unknownIn: ' in the body',
  required: [],
  ids: [],
  texts: { reason: MAX_REASON_LENGTH },
};

/**
 * A stop request that passed its shape's rules: the object as sent (only the shape's fields, each
 * checked), and its run in epoch ms.
 */
interface StopFields {
  fields: Record<string, unknown>;
  runStartedAt?: number;
}

/** A part of a stop request, read, or why it is refused. */
export type Read<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

const refused = (kind: InvalidRequestKind, message: string, field?: Refusal['field']): Read<never> => ({
  ok: false,
  refusal: { kind, message, ...(field && { field }) },
});

/** A job or instance id, wherever the request carries it (a message field, the webhook's path). */
export function readId(field: 'jobId' | 'instanceId', value: unknown): Read<string> {
  return isValidId(value)
    ? { ok: true, value }
    : refused('INVALID_ID', `${field} must be 1-64 letters, digits or dashes`, field);
}

function readJson(text: string): Read<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return refused('INVALID_JSON', 'the body is not valid JSON');
  }
}

/**
 * The one reading of a stop request, for every entry point: an object of the shape's fields, in
 * this order: not an object, unknown fields, required fields, ids, texts, `runStartedAt`.
 */
function readFields(value: unknown, shape: Shape): Read<StopFields> {
  if (!isJsonObject(value)) {
    return refused('INVALID_MESSAGE', `the body must be a JSON object such as ${shape.example}`);
  }
  const unknown = Object.keys(value).filter((key) => !shape.fields.has(key));
  if (unknown.length > 0) {
    return refused(
      'INVALID_MESSAGE',
      `unknown field(s)${shape.unknownIn}: ${unknown.slice(0, 5).join(', ')}`,
    );
  }
  const missing = shape.required.find((field) => value[field] === undefined);
  if (missing !== undefined) return refused('INVALID_MESSAGE', `${missing} is required`);
  for (const field of shape.ids) {
    if (value[field] === undefined) continue;
    const id = readId(field, value[field]);
    if (!id.ok) return id;
  }
  for (const [field, max] of Object.entries(shape.texts)) {
    if (value[field] !== undefined && !isTextUpTo(value[field], max)) {
      return refused('INVALID_MESSAGE', `${field} must be a string of at most ${max} characters`);
    }
  }
  const { runStartedAt } = value;
  const runStart = parseRunStartedAt(runStartedAt);
  if (runStartedAt !== undefined && runStart === undefined) {
    return refused('INVALID_MESSAGE', RUN_STARTED_AT_RULE, 'runStartedAt');
  }
  return { ok: true, value: { fields: value, ...(runStart !== undefined && { runStartedAt: runStart }) } };
}

/** A queue message, checked: the message, or why it can never succeed (its DLQ copy's `errorCode`). */
export type MessageCheck =
  | { ok: true; message: StopMessage }
  | { ok: false; errorCode: InvalidRequestKind; errorMessage: string };

function messageCheck(read: Read<StopFields>): MessageCheck {
  if (!read.ok) return { ok: false, errorCode: read.refusal.kind, errorMessage: read.refusal.message };
  return { ok: true, message: read.value.fields as unknown as StopMessage };
}

/** Checks a decoded queue message against the schema. */
export function checkStopMessage(value: unknown): MessageCheck {
  return messageCheck(readFields(value, QUEUE_MESSAGE));
}

/** Parses and checks a message body as received from SQS. */
export function parseStopMessage(body: string): MessageCheck {
  const json = readJson(body);
  return messageCheck(json.ok ? readFields(json.value, QUEUE_MESSAGE) : json);
}

/**
 * What a webhook body may say: why, which run of the job (its `start_time`, epoch ms), and (to bind
 * a signed body to one job) which job. `jobId` and `instanceId` are as sent: they must repeat the
 * path's, which the webhook checks.
 */
export interface StopBody {
  reason?: string;
  runStartedAt?: number;
  jobId?: unknown;
  instanceId?: unknown;
}

/** Parses and checks a webhook body; an empty one is `{}`. */
export function parseStopBody(text: string): Read<StopBody> {
  const json = text.trim() === '' ? { ok: true as const, value: {} } : readJson(text);
  const read = json.ok ? readFields(json.value, HTTP_BODY) : json;
  if (!read.ok) return read;
  const { fields, runStartedAt } = read.value;
  return { ok: true, value: { ...(fields as Omit<StopBody, 'runStartedAt'>), runStartedAt } };
}

/** The body of `POST …/jobs/{jobId}/snooze` (docs/openapi.yaml, requestBodies.Snooze). */
const SNOOZE_BODY: Shape = {
  fields: new Set(['minutes', 'reason', 'runStartedAt', 'jobId', 'instanceId']),
  example: '{"minutes": 60}',
  unknownIn: ' in the body',
  required: ['minutes'],
  ids: [],
  texts: { reason: MAX_REASON_LENGTH },
};

/** What a snooze body says: for how long, why, which run; `jobId`/`instanceId` as in {@link StopBody}. */
export interface SnoozeBody extends StopBody {
  minutes: number;
}

/** Parses and checks a snooze body: `minutes` a whole number from 1 to `maxMinutes`. */
export function parseSnoozeBody(text: string, maxMinutes: number): Read<SnoozeBody> {
  const json = readJson(text.trim() === '' ? '{}' : text);
  const read = json.ok ? readFields(json.value, SNOOZE_BODY) : json;
  if (!read.ok) return read;
  const { fields, runStartedAt } = read.value;
  const { minutes } = fields;
  if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > maxMinutes) {
    return refused(
      'INVALID_MESSAGE',
      `minutes must be a whole number from 1 to ${maxMinutes} (maxSnoozeMinutes)`,
    );
  }
  return {
    ok: true,
    value: { ...(fields as Omit<SnoozeBody, 'runStartedAt'>), minutes, runStartedAt },
  };
}
