import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { enqueueStops } from '../../lib/stop-queue.js';

const sqsMock = mockClient(SQSClient);
const QUEUE = 'http://127.0.0.1:1/123456789012/stop';

beforeEach(() => sqsMock.reset());

const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ jobId: `job-${i}`, source: 'test' }));

describe('Function: enqueueStops()', () => {
  it('sends in batches of at most 10 with the messages as JSON bodies', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    const result = await enqueueStops(QUEUE, messages(23), new SQSClient({}));

    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    expect(JSON.parse(calls[2]?.args[0].input.Entries?.[2]?.MessageBody ?? '')).toEqual({
      jobId: 'job-22',
      source: 'test',
    });
    expect(result).toEqual({ sent: 23, failed: [] });
  });

  it('re-sends only the entries a batch reports as failed', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [], Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] })
      .resolves({ Successful: [], Failed: [] });

    const result = await enqueueStops(QUEUE, messages(3), new SQSClient({}));

    const second = sqsMock.commandCalls(SendMessageBatchCommand)[1]?.args[0].input.Entries ?? [];
    expect(second.map((entry) => JSON.parse(entry.MessageBody ?? '').jobId)).toEqual(['job-1']);
    expect(result.sent).toBe(3);
  });

  it('returns entries that keep failing, and does not re-send sender faults', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [
        { Id: '0', Code: 'InternalError', SenderFault: false, Message: 'busy' },
        { Id: '1', Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad' },
      ],
    });

    const result = await enqueueStops(QUEUE, messages(2), new SQSClient({}));

    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
    expect(result.sent).toBe(0);
    expect(result.failed.map((f) => [f.item.jobId, f.code])).toEqual([
      ['job-1', 'InvalidMessageContents'],
      ['job-0', 'InternalError'],
    ]);
  });

  it('refuses an invalid message before sending anything', async () => {
    await expect(
      enqueueStops(QUEUE, [{ jobId: 'ok' }, { jobId: '../x' }], new SQSClient({})),
    ).rejects.toThrow(/message 1: jobId/);
    expect(sqsMock.calls()).toHaveLength(0);
  });
});
