import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { enqueueStops } from '../../lib/domain/enqueue.js';
import { sendBatches } from '../../lib/upstream/aws/sqs.js';

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

/** A message's size as SQS counts it: body, and each attribute's name, data type and value, in UTF-8. */
function sqsBytes(entry: Partial<SendMessageBatchRequestEntry>): number {
  return Object.entries(entry.MessageAttributes ?? {}).reduce(
    (sum, [name, value]) =>
      sum +
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? '') +
      Buffer.byteLength(value.StringValue ?? ''),
    Buffer.byteLength(entry.MessageBody ?? ''),
  );
}

const sentBatches = () =>
  sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries ?? []);

describe('Function: sendBatches()', () => {
  beforeEach(() => {
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  });

  it('keeps every call within 256 KiB, counting UTF-8 bytes and every attribute name, type and value', async () => {
    // 43,691 × "€" is 131,073 bytes: two bodies alone are over 262,144 bytes, though 87,382 characters
    const wide = { body: '€'.repeat(43_691) };
    // two of these are 262,140 body bytes: only their attributes (2 × 22 bytes) put the pair over
    const narrow = { body: 'n'.repeat(131_070), attributes: { errorCode: 'INVALID' } };
    const small = { body: 's' };

    const failed = await sendBatches(
      new SQSClient({}),
      QUEUE,
      [wide, wide, narrow, narrow, ...Array.from({ length: 12 }, () => small)],
      (entry) => entry,
    );

    expect(failed).toEqual([]);
    const batches = sentBatches();
    expect(batches.map((entries) => entries.length)).toEqual([1, 1, 1, 10, 3]);
    expect(batches[0]?.[0]?.MessageBody).toBe(wide.body);
    expect(batches[3]?.[0]?.MessageAttributes?.errorCode).toEqual({
      DataType: 'String',
      StringValue: 'INVALID',
    });
    for (const entries of batches) {
      expect(entries.reduce((sum, entry) => sum + sqsBytes(entry), 0)).toBeLessThanOrEqual(262_144);
    }
  });

  it('sends an entry of exactly 262,144 bytes with its attributes as it is, on its own', async () => {
    // errorCode + String + X: 16 bytes
    const exact = { body: 'x'.repeat(262_144 - 16), attributes: { errorCode: 'X' } };

    await sendBatches(new SQSClient({}), QUEUE, [{ body: 'a' }, exact, { body: 'b' }], (entry) => entry);

    const batches = sentBatches();
    expect(batches.map((entries) => entries.map((entry) => entry.MessageBody?.length))).toEqual([
      [1],
      [262_128],
      [1],
    ]);
    expect(sqsBytes(batches[1]?.[0] ?? {})).toBe(262_144);
  });

  it('refuses an entry too large on its own before sending anything, naming it', async () => {
    const items = [{ body: 'fine' }, { body: 'x'.repeat(262_130), attributes: { errorCode: 'X' } }];

    await expect(sendBatches(new SQSClient({}), QUEUE, items, (entry) => entry)).rejects.toThrow(
      /message 1 is 262146 bytes with its attributes; SQS takes at most 262144: nothing was sent/,
    );
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('names a refused entry with its label', async () => {
    const items = [{ body: '€'.repeat(100_000), id: 'big-one' }];

    await expect(
      sendBatches(new SQSClient({}), QUEUE, items, (item) => ({ body: item.body }), {
        label: (item) => `jobId ${item.id}`,
      }),
    ).rejects.toThrow(/^message 0 \(jobId big-one\) is 300000 bytes/);
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('sends what fitOversized makes of an entry too large on its own, and only of that one', async () => {
    const big = { body: 'x'.repeat(300_000) };
    const fitOversized = vi.fn((_item: unknown, entry: { body: string }, bytes: number) => ({
      body: entry.body.slice(0, 1000),
      attributes: { originalBytes: String(bytes) },
    }));

    await sendBatches(new SQSClient({}), QUEUE, [{ body: 'small' }, big], (entry) => entry, { fitOversized });

    expect(fitOversized).toHaveBeenCalledTimes(1);
    expect(fitOversized).toHaveBeenCalledWith(big, big, 300_000);
    expect(sentBatches()).toEqual([
      [
        { Id: '0', MessageBody: 'small' },
        {
          Id: '1',
          MessageBody: 'x'.repeat(1000),
          MessageAttributes: { originalBytes: { DataType: 'String', StringValue: '300000' } },
        },
      ],
    ]);
  });

  it('refuses what fitOversized makes if that is still too large', async () => {
    await expect(
      sendBatches(new SQSClient({}), QUEUE, [{ body: 'x'.repeat(300_000) }], (entry) => entry, {
        fitOversized: (_item, entry) => entry,
      }),
    ).rejects.toThrow(/message 0 is 300000 bytes/);
    expect(sqsMock.calls()).toHaveLength(0);
  });
});
