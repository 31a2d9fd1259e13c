import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { JobRef } from '../../upstream/lakeformation/client.js';
import { LedgerUnavailableError } from '../failures.js';
import { isConditionFailure, jobKey, ledgerSender, names, seconds } from './dynamo.js';
import {
  MAX_KEPT_REQUESTS,
  type StopEvent,
  type StopRecord,
  type StopRequest,
  type StopState,
} from './records.js';

/**
 * The stop ledger's table (single-table design, docs/ledger.md): one function per access pattern,
 * every decision a conditional write. Items past their `expiresAt` are gone, whether DynamoDB's TTL
 * has deleted them yet or not (it may take days; moto never does).
 */

/** A job's claim: who is stopping it, for which run. */
export interface Claim {
  stopId: string;
  /** epoch ms, when the stop names a run. */
  runStartedAt?: number;
  /** `PENDING` while its claimant waits for LakeFormation; `REQUESTED` once the stop was accepted. */
  state: 'PENDING' | 'REQUESTED';
  /** epoch ms. */
  claimedAt: number;
  /** epoch ms: a `PENDING` claim whose claimant has not finished by then is abandoned. */
  leaseUntil: number;
}

export type ClaimAttempt = { claimed: true } | { claimed: false; holder: Claim };

/** A stored HTTP answer, replayed for a repeated `Idempotency-Key`. */
export interface StoredResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export type KeyAttempt =
  | { kind: 'fresh' }
  | { kind: 'mismatch' }
  | { kind: 'in-progress'; retryAfterSeconds: number }
  | { kind: 'replay'; response: StoredResponse };

export interface LedgerTableOptions {
  tableName: string;
  /** How long stop records are kept (TTL). */
  retentionDays: number;
  client: DynamoDBClient | (() => DynamoDBClient);
}

/** A run-less stop (or claim) this young is joined by any request for the job (design: "One stop per job run"). */
export const JOIN_RUNLESS_WITHIN_MS = 60_000;
/** How long a claim that led to an accepted stop keeps joining requests of its run. */
export const REQUESTED_CLAIM_MS = 30 * 60_000;
/** Idempotency keys are remembered this long. */
export const IDEMPOTENCY_MS = 24 * 3600_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const stopKey = (stopId: string) => ({ pk: { S: `STOP#${stopId}` }, sk: { S: 'RECORD' } });

/**
 * Creates the ledger's access patterns over one table.
 *
 * @example
 * const ledger = createLedgerTable({ tableName, retentionDays: 90, client: getDynamoDbClient });
 * const attempt = await ledger.claimStop(ref, { stopId, runStartedAt, now, leaseMs: 20_000 });
 */
export function createLedgerTable(options: LedgerTableOptions) {
  const table = options.tableName;
  const retentionMs = options.retentionDays * 24 * 3600_000;
  const send = ledgerSender(options.client);

  const recordItem = (record: StopRecord, createdAtMs: number): Record<string, AttributeValue> => ({
    ...stopKey(record.stopId),
    ...marshall(record, { removeUndefinedValues: true }),
    gsi1pk: { S: jobKey(record) },
    gsi1sk: { S: `${record.createdAt}#${record.stopId}` },
    expiresAt: { N: String(seconds(createdAtMs + retentionMs)) },
  });

  const liveRecord = (item: Record<string, AttributeValue> | undefined, now: number) => {
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, expiresAt, ...record } = unmarshall(item);
    if (typeof expiresAt === 'number' && expiresAt * 1000 <= now) return undefined;
    return record as StopRecord;
  };

  const readClaim = (item: Record<string, AttributeValue>): Claim => {
    const data = unmarshall(item);
    return {
      stopId: String(data.stopId),
      ...(typeof data.runStartedAt === 'number' && { runStartedAt: data.runStartedAt }),
      state: data.state === 'REQUESTED' ? 'REQUESTED' : 'PENDING',
      claimedAt: Number(data.claimedAt),
      leaseUntil: Number(data.leaseUntil),
    };
  };

  return {
    /**
     * Claims the stop of a job run, unless another request holds a claim this one must join: a
     * `REQUESTED` claim (or a `PENDING` one within its lease) of the same run, or of no run, or any
     * of the job's when this request names no run, made less than {@link JOIN_RUNLESS_WITHIN_MS} ago.
     * The condition decides: of concurrent requests exactly one claims.
     */
    async claimStop(
      ref: JobRef,
      claim: { stopId: string; runStartedAt?: number; now: number; leaseMs: number },
    ): Promise<ClaimAttempt> {
      const { now } = claim;
      const runMatch =
        claim.runStartedAt === undefined
          ? '#claimedAt > :fresh'
          : '(#runStartedAt = :run OR (attribute_not_exists(#runStartedAt) AND #claimedAt > :fresh))';
      const held = `((#state = :pending AND #leaseUntil > :now) OR #state = :requested) AND ${runMatch}`;
      try {
        await send('claimStop', (dynamo) =>
          dynamo.send(
            new PutItemCommand({
              TableName: table,
              Item: {
                pk: { S: jobKey(ref) },
                sk: { S: 'CLAIM' },
                stopId: { S: claim.stopId },
                ...(claim.runStartedAt !== undefined && { runStartedAt: { N: String(claim.runStartedAt) } }),
                state: { S: 'PENDING' },
                claimedAt: { N: String(now) },
                leaseUntil: { N: String(now + claim.leaseMs) },
                expiresAt: { N: String(seconds(now + claim.leaseMs) + 1) },
              },
              ConditionExpression: `attribute_not_exists(#pk) OR #expiresAt < :nowS OR NOT (${held})`,
              ExpressionAttributeNames: names(
                'pk',
                'expiresAt',
                'state',
                'leaseUntil',
                'claimedAt',
                ...(claim.runStartedAt === undefined ? [] : ['runStartedAt']),
              ),
              ExpressionAttributeValues: {
                ':nowS': { N: String(seconds(now)) },
                ':now': { N: String(now) },
                ':pending': { S: 'PENDING' },
                ':requested': { S: 'REQUESTED' },
                ':fresh': { N: String(now - JOIN_RUNLESS_WITHIN_MS) },
                ...(claim.runStartedAt !== undefined && { ':run': { N: String(claim.runStartedAt) } }),
              },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
        return { claimed: true };
      } catch (error) {
        if (isConditionFailure(error) && error.Item) return { claimed: false, holder: readClaim(error.Item) };
        throw error instanceof LedgerUnavailableError
          ? error
          : new LedgerUnavailableError('claimStop', error);
      }
    },

    /** The job's claim as it stands, or nothing (none, or expired). */
    async readClaim(ref: JobRef, now: number): Promise<Claim | undefined> {
      const { Item } = await send('readClaim', (dynamo) =>
        dynamo.send(
          new GetItemCommand({
            TableName: table,
            Key: { pk: { S: jobKey(ref) }, sk: { S: 'CLAIM' } },
            ConsistentRead: true,
          }),
        ),
      );
      if (!Item) return undefined;
      const expiresAt = Number(Item.expiresAt?.N ?? 0);
      return expiresAt * 1000 <= now ? undefined : readClaim(Item);
    },

    /**
     * Records a stop that has its outcome, then settles its claim: an accepted stop's claim turns
     * `REQUESTED` (later requests of the run join it); any other outcome releases it. The record is
     * written first, and only once (a retry leaves the requests joined since), so a `REQUESTED` claim
     * always has a record to join; a claim taken over meanwhile
     * (its lease ran out) is left to its new holder. Two writes, not a transaction: the order gives
     * the same guarantee, at half the write cost and without conflicts with requests joining the
     * record (docs/ledger.md).
     */
    async recordOutcome(ref: JobRef, record: StopRecord, now: number): Promise<void> {
      try {
        // written once: a retry after an answer that was lost must not undo requests joined since
        await send('recordOutcome', (dynamo) =>
          dynamo.send(
            new PutItemCommand({
              TableName: table,
              Item: recordItem(record, now),
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: names('pk'),
            }),
          ),
        );
      } catch (error) {
        // the record is there already (stop ids are unique): this is a retry, settle the claim
        if (!isConditionFailure(error)) throw error;
      }
      const mine = {
        TableName: table,
        Key: { pk: { S: jobKey(ref) }, sk: { S: 'CLAIM' } },
        ConditionExpression: '#stopId = :stopId',
      };
      try {
        await send('recordOutcome', (dynamo) =>
          dynamo.send(
            record.state === 'REQUESTED'
              ? new UpdateItemCommand({
                  ...mine,
                  UpdateExpression: 'SET #state = :requested, #expiresAt = :until',
                  ExpressionAttributeNames: names('stopId', 'state', 'expiresAt'),
                  ExpressionAttributeValues: {
                    ':stopId': { S: record.stopId },
                    ':requested': { S: 'REQUESTED' },
                    ':until': { N: String(seconds(now + REQUESTED_CLAIM_MS)) },
                  },
                })
              : new DeleteItemCommand({
                  ...mine,
                  ExpressionAttributeNames: names('stopId'),
                  ExpressionAttributeValues: { ':stopId': { S: record.stopId } },
                }),
          ),
        );
      } catch (error) {
        // the claim is someone else's now: the record alone
        if (!isConditionFailure(error)) throw error;
      }
    },

    /** Lets go of a claim whose stop got no outcome (a retryable failure): the next request claims. */
    async releaseClaim(ref: JobRef, stopId: string): Promise<void> {
      try {
        await send('releaseClaim', (dynamo) =>
          dynamo.send(
            new DeleteItemCommand({
              TableName: table,
              Key: { pk: { S: jobKey(ref) }, sk: { S: 'CLAIM' } },
              ConditionExpression: '#stopId = :stopId',
              ExpressionAttributeNames: names('stopId'),
              ExpressionAttributeValues: { ':stopId': { S: stopId } },
            }),
          ),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },

    /**
     * Adds a request to a stop that is under way and returns the record; the first
     * {@link MAX_KEPT_REQUESTS} requests are kept, the rest counted. `undefined`: no such record.
     */
    async joinStop(stopId: string, request: StopRequest, now: number): Promise<StopRecord | undefined> {
      const update = (keep: boolean) =>
        send('joinStop', (dynamo) =>
          dynamo.send(
            new UpdateItemCommand({
              TableName: table,
              Key: stopKey(stopId),
              UpdateExpression: keep
                ? 'SET #requests = list_append(#requests, :request), #updatedAt = :at ADD #requestCount :one'
                : 'SET #updatedAt = :at ADD #requestCount :one',
              ConditionExpression: keep
                ? 'attribute_exists(#pk) AND size(#requests) < :max'
                : 'attribute_exists(#pk)',
              ExpressionAttributeNames: names(
                'pk',
                'updatedAt',
                'requestCount',
                ...(keep ? ['requests'] : []),
              ),
              ExpressionAttributeValues: {
                ':at': { S: request.at },
                ':one': { N: '1' },
                ...(keep && {
                  ':request': { L: [{ M: marshall(request, { removeUndefinedValues: true }) }] },
                  ':max': { N: String(MAX_KEPT_REQUESTS) },
                }),
              },
              ReturnValues: 'ALL_NEW',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
      try {
        return liveRecord((await update(true)).Attributes, now);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        if (!error.Item) return undefined;
        try {
          return liveRecord((await update(false)).Attributes, now);
        } catch (again) {
          if (isConditionFailure(again)) return undefined;
          throw again;
        }
      }
    },

    /**
     * Adds an event to a stop's record and, with `state`, moves it to that state (`CONFIRMED`,
     * `STUCK`). `false`: no such record.
     */
    async recordEvent(stopId: string, event: StopEvent, state?: StopState): Promise<boolean> {
      try {
        await send('recordEvent', (dynamo) =>
          dynamo.send(
            new UpdateItemCommand({
              TableName: table,
              Key: stopKey(stopId),
              UpdateExpression: `SET #events = list_append(#events, :event), #updatedAt = :at${state ? ', #state = :state' : ''}`,
              ConditionExpression: 'attribute_exists(#pk)',
              ExpressionAttributeNames: names('pk', 'events', 'updatedAt', ...(state ? ['state'] : [])),
              ExpressionAttributeValues: {
                ':event': { L: [{ M: marshall(event, { removeUndefinedValues: true }) }] },
                ':at': { S: event.at },
                ...(state && { ':state': { S: state } }),
              },
            }),
          ),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    /** One stop record, or nothing (unknown, or past its retention). */
    async getStop(stopId: string, now: number): Promise<StopRecord | undefined> {
      const { Item } = await send('getStop', (dynamo) =>
        dynamo.send(new GetItemCommand({ TableName: table, Key: stopKey(stopId), ConsistentRead: true })),
      );
      return liveRecord(Item, now);
    },

    /**
     * A job's stops, newest first, a page at a time: `cursor` is what the previous page returned as
     * `next` (opaque to callers; {@link decodeCursor} checks one that came back from outside).
     */
    async listStops(
      ref: JobRef,
      page: { limit: number; cursor?: Record<string, AttributeValue>; now: number },
    ): Promise<{ records: StopRecord[]; next?: Record<string, AttributeValue> }> {
      const result = await send('listStops', (dynamo) =>
        dynamo.send(
          new QueryCommand({
            TableName: table,
            IndexName: 'byJob',
            KeyConditionExpression: '#gsi1pk = :job',
            ExpressionAttributeNames: names('gsi1pk'),
            ExpressionAttributeValues: { ':job': { S: jobKey(ref) } },
            ScanIndexForward: false,
            Limit: page.limit,
            ...(page.cursor && { ExclusiveStartKey: page.cursor }),
          }),
        ),
      );
      const records = (result.Items ?? []).flatMap((item) => liveRecord(item, page.now) ?? []);
      return { records, ...(result.LastEvaluatedKey && { next: result.LastEvaluatedKey }) };
    },

    /**
     * Takes an `Idempotency-Key` of `scope` (the authenticated credential) for a request whose
     * path and body hash to `requestHash`: `fresh` (go on, then {@link completeKey} or
     * {@link releaseKey}), `replay` of the first answer, `mismatch` (the key was used for another
     * request) or `in-progress`. A key whose first request never finished is taken over once its
     * lock (`lockMs`) has passed, by the same request only: another is still a `mismatch`.
     */
    async claimKey(
      key: { scope: string; key: string; requestHash: string },
      at: { now: number; lockMs: number },
    ): Promise<KeyAttempt> {
      try {
        await send('claimKey', (dynamo) =>
          dynamo.send(
            new PutItemCommand({
              TableName: table,
              Item: {
                ...idempotencyKey(key),
                requestHash: { S: key.requestHash },
                status: { S: 'IN_PROGRESS' },
                lockedUntil: { N: String(at.now + at.lockMs) },
                expiresAt: { N: String(seconds(at.now + IDEMPOTENCY_MS)) },
              },
              ConditionExpression:
                'attribute_not_exists(#pk) OR #expiresAt < :nowS OR (#status = :inProgress AND #lockedUntil < :now AND #requestHash = :hash)',
              ExpressionAttributeNames: names('pk', 'expiresAt', 'status', 'lockedUntil', 'requestHash'),
              ExpressionAttributeValues: {
                ':nowS': { N: String(seconds(at.now)) },
                ':now': { N: String(at.now) },
                ':inProgress': { S: 'IN_PROGRESS' },
                ':hash': { S: key.requestHash },
              },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
        return { kind: 'fresh' };
      } catch (error) {
        if (!isConditionFailure(error) || !error.Item) throw error;
        const held = unmarshall(error.Item);
        if (held.requestHash !== key.requestHash) return { kind: 'mismatch' };
        if (held.status === 'IN_PROGRESS') {
          const wait = Math.ceil((Number(held.lockedUntil) - at.now) / 1000);
          return { kind: 'in-progress', retryAfterSeconds: Math.max(1, wait) };
        }
        return { kind: 'replay', response: held.response as StoredResponse };
      }
    },

    /** Remembers the answer of a request whose key was `fresh`, for {@link IDEMPOTENCY_MS}. */
    async completeKey(key: { scope: string; key: string; requestHash: string }, response: StoredResponse) {
      await send('completeKey', (dynamo) =>
        dynamo.send(
          new UpdateItemCommand({
            TableName: table,
            Key: idempotencyKey(key),
            UpdateExpression: 'SET #status = :complete, #response = :response',
            ConditionExpression: '#requestHash = :hash',
            ExpressionAttributeNames: names('status', 'response', 'requestHash'),
            ExpressionAttributeValues: {
              ':complete': { S: 'COMPLETE' },
              ':response': { M: marshall(response) },
              ':hash': { S: key.requestHash },
            },
          }),
        ),
      ).catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
    },

    /** Forgets a key whose request ended in a retryable failure: the same key tries again. */
    async releaseKey(key: { scope: string; key: string; requestHash: string }) {
      await send('releaseKey', (dynamo) =>
        dynamo.send(
          new DeleteItemCommand({
            TableName: table,
            Key: idempotencyKey(key),
            ConditionExpression: '#requestHash = :hash AND #status = :inProgress',
            ExpressionAttributeNames: names('requestHash', 'status'),
            ExpressionAttributeValues: {
              ':hash': { S: key.requestHash },
              ':inProgress': { S: 'IN_PROGRESS' },
            },
          }),
        ),
      ).catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
    },

    /**
     * Records that a caller signature was used for `method path`; `false` when it already was,
     * within `until` (epoch ms: the end of the signature's window). Only its hash is stored.
     */
    async useSignature(use: { signature: string; method: string; path: string; until: number; now: number }) {
      try {
        await send('useSignature', (dynamo) =>
          dynamo.send(
            new PutItemCommand({
              TableName: table,
              Item: {
                pk: { S: `SIGNATURE#${sha256(use.signature)}` },
                sk: { S: `${use.method} ${use.path}` },
                expiresAt: { N: String(seconds(use.until) + 1) },
              },
              ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt < :nowS',
              ExpressionAttributeNames: names('pk', 'expiresAt'),
              ExpressionAttributeValues: { ':nowS': { N: String(seconds(use.now)) } },
            }),
          ),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    /** Forgets a signature's use, when the request it signed got no final answer (a retryable failure). */
    async forgetSignature(use: { signature: string; method: string; path: string }) {
      await send('forgetSignature', (dynamo) =>
        dynamo.send(
          new DeleteItemCommand({
            TableName: table,
            Key: { pk: { S: `SIGNATURE#${sha256(use.signature)}` }, sk: { S: `${use.method} ${use.path}` } },
          }),
        ),
      );
    },
  };
}

export type LedgerTable = ReturnType<typeof createLedgerTable>;

/** The item of an idempotency key: scoped to its credential; the key itself only as a hash. */
function idempotencyKey(key: { scope: string; key: string }) {
  return { pk: { S: `IDEMPOTENCY#${key.scope}#${sha256(key.key)}` }, sk: { S: 'KEY' } };
}

/**
 * A page cursor as a caller carries it (`nextToken`): the last key of a page, base64url JSON.
 * {@link decodeCursor} refuses one that is not a key of this job's stops.
 */
export function encodeCursor(key: Record<string, AttributeValue>): string {
  return Buffer.from(JSON.stringify(unmarshall(key))).toString('base64url');
}

/** The key `token` encodes, when it is a cursor of `ref`'s stops; `undefined` otherwise. */
export function decodeCursor(token: string, ref: JobRef): Record<string, AttributeValue> | undefined {
  if (token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const key = data as Record<string, unknown>;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const fields = Object.keys(key).sort().join(',');
  if (fields !== 'gsi1pk,gsi1sk,pk,sk' || Object.values(key).some((value) => typeof value !== 'string')) {
    return undefined;
  }
  if (key.gsi1pk !== jobKey(ref) || key.sk !== 'RECORD' || !String(key.pk).startsWith('STOP#'))
    return undefined;
  return marshall(key);
}
