import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { createLedgerTable } from '../../local/ledger-table.js';
import { startMoto } from '../../local/moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
    /** The stop ledger table the functions under test use (each test names its own jobs). */
    ledgerTable: string;
    /** The confirm queue and event bus the functions under test send to (nothing consumes them). */
    confirmQueueUrl: string;
    eventBusName: string;
  }
}

/**
 * One moto_server for the project, on a free port, with the stop ledger table serverless.yml
 * declares; stopped by PID when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const moto = await startMoto();
  project.provide('motoEndpoint', moto.url);
  const options = {
    endpoint: moto.url,
    region: 'eu-west-1', // the tests' AWS_REGION (vitest.config.ts)
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const dynamo = new DynamoDBClient(options);
  project.provide('ledgerTable', await createLedgerTable(dynamo, 'lf-job-stopper-test-ledger'));
  dynamo.destroy();
  const sqs = new SQSClient(options);
  const confirm = await sqs.send(new CreateQueueCommand({ QueueName: 'lf-job-stopper-test-confirm' }));
  project.provide('confirmQueueUrl', confirm.QueueUrl ?? '');
  // Nothing consumes it, and moto's SendMessage counts every message a queue holds (46 ms at 2,000
  // against 5 ms at 200): emptied every few seconds, so that later tests do not slow down.
  const purge = setInterval(() => {
    sqs.send(new PurgeQueueCommand({ QueueUrl: confirm.QueueUrl })).catch(() => {});
  }, 5_000);
  purge.unref();
  const events = new EventBridgeClient(options);
  await events.send(new CreateEventBusCommand({ Name: 'lf-job-stopper-test-events' }));
  project.provide('eventBusName', 'lf-job-stopper-test-events');
  events.destroy();
  return async () => {
    clearInterval(purge);
    sqs.destroy();
    await moto.stop();
  };
}
