import { createServer, type Server, type Socket } from 'node:net';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StopJobEvent } from '../../lib/edge/http/event.js';
import type { LakeFormationEmulator } from '../../local/emulator/server.js';
import type { SqsHandler } from '../../local/sqs-poller.js';
import { emulatorEnv, testEmulator } from '../support/emulator.js';
import { httpEvent, parse, withBearer } from '../support/http.js';
import { lambdaContext } from '../support/lambda.js';

/**
 * With AWS itself not answering (Secrets Manager, SQS), the functions give up on it and report it
 * before their Lambda timeout, instead of waiting forever and losing the invocation.
 */
let blackhole: Server;
const sockets = new Set<Socket>();
let emulator: LakeFormationEmulator;
let endpoint: string;

beforeAll(async () => {
  // accepts connections and never answers
  blackhole = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', () => resolve()));
  endpoint = `http://127.0.0.1:${(blackhole.address() as { port: number }).port}`;
  emulator = await testEmulator();
  for (const [key, value] of Object.entries(emulatorEnv(emulator))) vi.stubEnv(key, value);
  vi.stubEnv('AWS_ENDPOINT_URL', endpoint);
  vi.stubEnv('WEBHOOK_SECRET_ID', 'lf-job-stopper/test/webhook-keys');
  vi.stubEnv('STOP_DLQ_URL', `${endpoint}/123456789012/stop-dlq`);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => blackhole.close(() => resolve()));
  await emulator.close();
});

describe('timeouts: AWS does not answer', () => {
  it('the HTTP function answers 500 before its timeout when the caller keys cannot be read', async () => {
    const { handler } = (await import('../../functions/stop-job.js')) as unknown as {
      handler: (event: StopJobEvent, context: Context) => Promise<unknown>;
    };
    const timeoutMs = 20_000; // the deployed timeout
    const started = Date.now();

    const response = parse(
      await handler(withBearer(httpEvent('http-stop-job-bearer'), 'any'), lambdaContext(timeoutMs)),
    );

    expect(response.statusCode).toBe(500);
    expect(response.body.code).toBe('INTERNAL_ERROR');
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(emulator.requests).toHaveLength(0);
  });

  it('the queue function reports a message it cannot dead-letter as a failure, before its timeout', async () => {
    const { handler } = (await import('../../functions/bulk-stop.js')) as unknown as { handler: SqsHandler };
    const event: SQSEvent = {
      Records: [
        {
          messageId: 'm-1',
          receiptHandle: 'r-1',
          body: 'not json',
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: String(Date.now()),
            SenderId: 'test',
            ApproximateFirstReceiveTimestamp: String(Date.now()),
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:stop',
          awsRegion: 'eu-west-1',
        },
      ],
    };
    const timeoutMs = 8_000; // 3 s to the deadline, then the 5 s kept back for dead letters
    const started = Date.now();

    const response = await handler(event, lambdaContext(timeoutMs));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(Date.now() - started).toBeLessThan(timeoutMs);
  });
});
