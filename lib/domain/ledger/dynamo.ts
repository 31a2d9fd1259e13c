import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LedgerUnavailableError } from '../failures.js';

/** What the ledger's modules share about writing DynamoDB expressions and reading their failures. */

/** Expressions name every attribute: several (`state`, `status`, …) are DynamoDB reserved words. */
export function names(...attributes: string[]): Record<string, string> {
  return Object.fromEntries(attributes.map((name) => [`#${name}`, name]));
}

export function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

export const seconds = (ms: number): number => Math.floor(ms / 1000);

/** A job's partition in the ledger: its claim, its watched runs. */
export const jobKey = (ref: { instanceId: string; jobId: string }): string =>
  `JOB#${ref.instanceId}#${ref.jobId}`;

/**
 * Sends a ledger operation on `client` (or what makes it, on first use): a condition that failed is
 * the caller's to read; any other failure is the ledger being unavailable, named by `operation`.
 */
export function ledgerSender(client: DynamoDBClient | (() => DynamoDBClient)) {
  return async <T>(operation: string, run: (dynamo: DynamoDBClient) => Promise<T>): Promise<T> => {
    try {
      return await run(typeof client === 'function' ? client() : client);
    } catch (error) {
      if (isConditionFailure(error)) throw error;
      throw new LedgerUnavailableError(operation, error);
    }
  };
}
