import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { JobRef } from '../../upstream/lakeformation/client.js';
import { LedgerUnavailableError } from '../failures.js';
import {
  type RunRef,
  type RunWatch,
  type RunWatchStore,
  runKey,
  type SnoozeChange,
  type SnoozeEntry,
  type Warning,
} from '../run-watch.js';
import { isConditionFailure, ledgerSender, names, seconds } from './dynamo.js';

/**
 * The reaper's warnings and the owners' snoozes on the stop ledger's table: one item per watched
 * job run (`pk` `WATCH#<instance>#<job>`, `sk` `RUN#<start, epoch ms>`), so a job's runs are one
 * query (docs/ledger.md). Every change is
 * conditional: one warning per run, snoozes counted without losing one to a race, a link used once.
 * The snooze log stays small: a run has at most `maxSnoozes` (≤ 100) snoozes.
 */

export interface WatchTableOptions {
  tableName: string;
  /** How long a watched run is kept after its last change (TTL). */
  retentionDays: number;
  client: DynamoDBClient | (() => DynamoDBClient);
}

/** BatchGetItem reads at most 100 keys. */
const BATCH = 100;
/** Rounds of a batch read whose keys DynamoDB left unprocessed (throttling), before giving up. */
const UNPROCESSED_ROUNDS = 5;

/**
 * A job's watched runs have a partition of their own, apart from its claim (`JOB#…`): the functions
 * that change them (the snooze link's among them, reachable by anyone holding a link) are granted
 * `WATCH#*` items only, never the claims that decide one stop per run.
 */
const watchPartition = (ref: JobRef) => `WATCH#${ref.instanceId}#${ref.jobId}`;
const runSortKey = (runStartedAt: number) => `RUN#${String(runStartedAt).padStart(15, '0')}`;
const watchKey = (run: RunRef) => ({
  pk: { S: watchPartition(run) },
  sk: { S: runSortKey(run.runStartedAt) },
});

function readWatch(item: Record<string, AttributeValue> | undefined, now: number): RunWatch | undefined {
  if (!item) return undefined;
  const data = unmarshall(item);
  if (typeof data.expiresAt === 'number' && data.expiresAt * 1000 <= now) return undefined;
  return {
    instanceId: String(data.instanceId),
    jobId: String(data.jobId),
    runStartedAt: Number(data.runStartedAt),
    ...(data.warning !== undefined && { warning: data.warning as Warning }),
    ...(typeof data.snoozedUntil === 'number' && { snoozedUntil: data.snoozedUntil }),
    snoozes: typeof data.snoozes === 'number' ? data.snoozes : 0,
    snoozeLog: Array.isArray(data.snoozeLog) ? (data.snoozeLog as SnoozeEntry[]) : [],
    usedLinks: data.usedLinks instanceof Set ? [...(data.usedLinks as Set<string>)] : [],
    updatedAt: Number(data.updatedAt ?? 0),
  };
}

/**
 * Creates the run-watch store over the ledger's table.
 *
 * @example
 * const watches = createWatchTable({ tableName, retentionDays: 90, client: getDynamoDbClient });
 * const first = await watches.recordWarning(run, warning, Date.now()); // false: already warned
 */
export function createWatchTable(options: WatchTableOptions): RunWatchStore {
  const table = options.tableName;
  const retentionMs = options.retentionDays * 24 * 3600_000;
  const send = ledgerSender(options.client);

  /** What every change of a run's item sets: who it is, and that it is kept a while longer. */
  const identity = (run: RunRef, now: number) => ({
    ':jobId': { S: run.jobId },
    ':instanceId': { S: run.instanceId },
    ':run': { N: String(run.runStartedAt) },
    ':updatedAt': { N: String(now) },
    ':expiresAt': { N: String(seconds(now + retentionMs)) },
  });
  const setIdentity =
    '#jobId = :jobId, #instanceId = :instanceId, #runStartedAt = :run, #updatedAt = :updatedAt, #expiresAt = :expiresAt';
  const identityNames = ['jobId', 'instanceId', 'runStartedAt', 'updatedAt', 'expiresAt'];

  return {
    async readWatches(runs, now) {
      const found = new Map<string, RunWatch>();
      const distinct = [...new Map(runs.map((run) => [runKey(run), run])).values()];
      for (let start = 0; start < distinct.length; start += BATCH) {
        let keys: Record<string, AttributeValue>[] = distinct.slice(start, start + BATCH).map(watchKey);
        for (let round = 1; keys.length > 0; round++) {
          if (round > UNPROCESSED_ROUNDS) {
            throw new LedgerUnavailableError('readWatches', new Error('keys left unprocessed'));
          }
          if (round > 1) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
          const result = await send('readWatches', (dynamo) =>
            dynamo.send(
              new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
            ),
          );
          for (const item of result.Responses?.[table] ?? []) {
            const watch = readWatch(item, now);
            if (watch) found.set(runKey(watch), watch);
          }
          keys = result.UnprocessedKeys?.[table]?.Keys ?? [];
        }
      }
      return found;
    },

    async readWatch(run, now) {
      const { Item } = await send('readWatch', (dynamo) =>
        dynamo.send(new GetItemCommand({ TableName: table, Key: watchKey(run), ConsistentRead: true })),
      );
      return readWatch(Item, now);
    },

    async recordWarning(run, warning, now) {
      try {
        await send('recordWarning', (dynamo) =>
          dynamo.send(
            new UpdateItemCommand({
              TableName: table,
              Key: watchKey(run),
              UpdateExpression: `SET #warning = :warning, ${setIdentity}, #snoozes = if_not_exists(#snoozes, :zero)`,
              // an item past its expiresAt is gone, whether TTL has deleted it yet or not
              ConditionExpression: 'attribute_not_exists(#warning) OR #expiresAt < :nowS',
              ExpressionAttributeNames: names('warning', 'snoozes', ...identityNames),
              ExpressionAttributeValues: {
                ':warning': { M: marshall(warning, { removeUndefinedValues: true }) },
                ':zero': { N: '0' },
                ':nowS': { N: String(seconds(now)) },
                ...identity(run, now),
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

    async withdrawWarning(run, warnedAt, now) {
      try {
        await send('withdrawWarning', (dynamo) =>
          dynamo.send(
            new UpdateItemCommand({
              TableName: table,
              Key: watchKey(run),
              UpdateExpression: 'REMOVE #warning SET #updatedAt = :updatedAt',
              ConditionExpression: '#warning.#warnedAt = :warnedAt AND #expiresAt >= :nowS',
              ExpressionAttributeNames: names('warning', 'warnedAt', 'updatedAt', 'expiresAt'),
              ExpressionAttributeValues: {
                ':warnedAt': { N: String(warnedAt) },
                ':updatedAt': { N: String(now) },
                ':nowS': { N: String(seconds(now)) },
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

    async recordSnooze(run: RunRef, change: SnoozeChange, now: number) {
      const unchanged =
        change.expectedSnoozes === 0
          ? '(attribute_not_exists(#snoozes) OR #snoozes = :expected)'
          : '#snoozes = :expected';
      const condition =
        change.linkId === undefined ? unchanged : `${unchanged} AND NOT contains(#usedLinks, :linkId)`;
      try {
        await send('recordSnooze', (dynamo) =>
          dynamo.send(
            new UpdateItemCommand({
              TableName: table,
              Key: watchKey(run),
              UpdateExpression: `SET #snoozedUntil = :until, #snoozes = :next, #snoozeLog = list_append(if_not_exists(#snoozeLog, :empty), :entry), ${setIdentity}${change.linkId === undefined ? '' : ' ADD #usedLinks :links'}`,
              ConditionExpression: condition,
              ExpressionAttributeNames: names(
                'snoozedUntil',
                'snoozes',
                'snoozeLog',
                ...identityNames,
                ...(change.linkId === undefined ? [] : ['usedLinks']),
              ),
              ExpressionAttributeValues: {
                ':until': { N: String(change.snoozedUntil) },
                ':expected': { N: String(change.expectedSnoozes) },
                ':next': { N: String(change.expectedSnoozes + 1) },
                ':empty': { L: [] },
                ':entry': { L: [{ M: marshall(change.entry, { removeUndefinedValues: true }) }] },
                ...identity(run, now),
                ...(change.linkId !== undefined && {
                  ':linkId': { S: change.linkId },
                  ':links': { SS: [change.linkId] },
                }),
              },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
        return 'recorded';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const held = readWatch(error.Item, now);
        if (change.linkId !== undefined && held?.usedLinks.includes(change.linkId)) return 'link-used';
        return 'conflict';
      }
    },

    async listWatches(ref: JobRef, limit: number, now: number) {
      const result = await send('listWatches', (dynamo) =>
        dynamo.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: '#pk = :job AND begins_with(#sk, :run)',
            ExpressionAttributeNames: names('pk', 'sk'),
            ExpressionAttributeValues: { ':job': { S: watchPartition(ref) }, ':run': { S: 'RUN#' } },
            ScanIndexForward: false,
            Limit: limit,
            ConsistentRead: true,
          }),
        ),
      );
      return (result.Items ?? []).flatMap((item) => readWatch(item, now) ?? []);
    },
  };
}
