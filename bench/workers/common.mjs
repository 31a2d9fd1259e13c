/** Shared by the benchmark workers: each runs in its own `node` process, like a Lambda container. */
import { readFileSync, writeFileSync } from 'node:fs';

export function context(timeoutMs = 60_000, name = 'bench') {
  const endsAt = Date.now() + timeoutMs;
  return {
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: `bench-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'bench',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()),
  };
}

export function sample(name) {
  return JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8'));
}

/** Peak resident set size of this process, in MiB. */
export function peakRssMiB() {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Written to `BENCH_RESULT_FILE`: stdout is a pipe full of log lines that `process.exit` may cut short.
 * Runs timed from outside only (INIT, warm-ups) set no file and report nothing.
 */
export function report(result) {
  const file = process.env.BENCH_RESULT_FILE;
  if (file) writeFileSync(file, JSON.stringify(result));
}

/**
 * The calls the functions make on the ledger, the confirm queue and the event bus for one accepted
 * stop, made with bare AWS SDK clients (no middleware, no retries of our own): the references of the
 * warm and bulk figures. Env: STOP_LEDGER_TABLE, STOP_CONFIRM_QUEUE_URL, STOP_EVENT_BUS_NAME.
 */
export async function bareAws() {
  const { DynamoDBClient, PutItemCommand, UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
  const { SQSClient, SendMessageCommand, PurgeQueueCommand } = await import('@aws-sdk/client-sqs');
  const { EventBridgeClient, PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
  const dynamo = new DynamoDBClient({});
  const sqs = new SQSClient({});
  const events = new EventBridgeClient({});
  const TableName = process.env.STOP_LEDGER_TABLE;
  const fresh = (pk, sk = 'CLAIM') => ({
    TableName,
    Item: { pk: { S: pk }, sk: { S: sk }, state: { S: 'PENDING' } },
    ConditionExpression: 'attribute_not_exists(pk)',
  });
  let n = 0;
  return {
    /** Empties the confirm queue: each run starts with it empty, as the reference does. */
    purgeConfirmQueue: () =>
      sqs.send(new PurgeQueueCommand({ QueueUrl: process.env.STOP_CONFIRM_QUEUE_URL })),
    /** One conditional put of a new item: the one ledger write the warm target allows. */
    conditionalPut: () => dynamo.send(new PutItemCommand(fresh(`BARE#${process.pid}#${n++}`))),
    /** A claim before the stop call. */
    claim: (jobId) => dynamo.send(new PutItemCommand(fresh(`BARE#JOB#${jobId}`))),
    /** After a 202: the record, the claim settled, then the first check and the event side by side. */
    record: async (jobId) => {
      await dynamo.send(
        new PutItemCommand({ ...fresh(`BARE#STOP#${jobId}`, 'RECORD'), ConditionExpression: undefined }),
      );
      await dynamo.send(
        new UpdateItemCommand({
          TableName,
          Key: { pk: { S: `BARE#JOB#${jobId}` }, sk: { S: 'CLAIM' } },
          UpdateExpression: 'SET #state = :requested',
          ConditionExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':requested': { S: 'REQUESTED' }, ':pending': { S: 'PENDING' } },
        }),
      );
      await Promise.all([
        sqs.send(
          new SendMessageCommand({
            QueueUrl: process.env.STOP_CONFIRM_QUEUE_URL,
            MessageBody: JSON.stringify({ jobId }),
            DelaySeconds: 30,
          }),
        ),
        events.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: process.env.STOP_EVENT_BUS_NAME,
                Source: 'bench',
                DetailType: 'Stop Requested',
                Detail: JSON.stringify({ jobId }),
              },
            ],
          }),
        ),
      ]);
    },
  };
}
