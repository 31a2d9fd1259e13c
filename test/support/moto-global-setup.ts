import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { createLedgerTable } from '../../local/ledger-table.js';
import { startMoto } from '../../local/moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
    /** The stop ledger table the functions under test use (each test names its own jobs). */
    ledgerTable: string;
  }
}

/**
 * One moto_server for the project, on a free port, with the stop ledger table serverless.yml
 * declares; stopped by PID when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const moto = await startMoto();
  project.provide('motoEndpoint', moto.url);
  const dynamo = new DynamoDBClient({
    endpoint: moto.url,
    region: 'eu-west-1', // the tests' AWS_REGION (vitest.config.ts)
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  project.provide('ledgerTable', await createLedgerTable(dynamo, 'lf-job-stopper-test-ledger'));
  dynamo.destroy();
  return () => moto.stop();
}
