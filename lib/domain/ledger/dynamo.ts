import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

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
