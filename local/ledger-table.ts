import { readFile } from 'node:fs/promises';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateContinuousBackupsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DEFAULT_SCHEMA, load, Type } from 'js-yaml';

/** CloudFormation's short-form tags, read as their long form (`!Ref X` → `{"Ref": "X"}`). */
export const CFN_SCHEMA = DEFAULT_SCHEMA.extend(
  [
    'Ref',
    'GetAtt',
    'Sub',
    'Join',
    'Not',
    'Equals',
    'If',
    'Select',
    'Split',
    'FindInMap',
    'Condition',
  ].flatMap((name) =>
    (['scalar', 'sequence', 'mapping'] as const).map(
      (kind) =>
        new Type(`!${name}`, {
          kind,
          construct: (data: unknown) => ({
            [name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`]: data,
          }),
        }),
    ),
  ),
);

interface TableResource {
  Properties: Pick<
    CreateTableCommandInput,
    'AttributeDefinitions' | 'KeySchema' | 'GlobalSecondaryIndexes' | 'BillingMode'
  > & {
    TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
    PointInTimeRecoverySpecification?: { PointInTimeRecoveryEnabled: boolean };
  };
}

/** The stop ledger table as serverless.yml declares it (`resources.Resources.StopLedgerTable`). */
export async function ledgerTableDefinition(): Promise<TableResource['Properties']> {
  const text = await readFile(new URL('../serverless.yml', import.meta.url), 'utf8');
  const config = load(text, { schema: CFN_SCHEMA }) as {
    resources: { Resources: Record<string, TableResource> };
  };
  const table = config.resources.Resources.StopLedgerTable;
  if (!table) throw new Error('serverless.yml declares no StopLedgerTable');
  return table.Properties;
}

/**
 * Creates the ledger table `name` (on moto, locally and in tests) as serverless.yml would: its keys,
 * index and billing, TTL on `expiresAt`, point-in-time recovery. A table that exists is left as it is.
 */
export async function createLedgerTable(dynamo: DynamoDBClient, name: string): Promise<string> {
  const { AttributeDefinitions, KeySchema, GlobalSecondaryIndexes, BillingMode, ...rest } =
    await ledgerTableDefinition();
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions,
        KeySchema,
        GlobalSecondaryIndexes,
        BillingMode,
      }),
    );
  } catch (error) {
    if (error instanceof ResourceInUseException) return name;
    throw error;
  }
  if (rest.TimeToLiveSpecification) {
    await dynamo.send(
      new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: rest.TimeToLiveSpecification }),
    );
  }
  if (rest.PointInTimeRecoverySpecification) {
    await dynamo.send(
      new UpdateContinuousBackupsCommand({
        TableName: name,
        PointInTimeRecoverySpecification: rest.PointInTimeRecoverySpecification,
      }),
    );
  }
  return name;
}
