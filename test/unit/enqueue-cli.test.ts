import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/enqueue-stops.js';

const sqsMock = mockClient(SQSClient);
const QUEUE = 'http://127.0.0.1:1/123456789012/stop';
const JOB_A = '03141229-84cd-4b1b-9733-dd124320c125';
const JOB_B = '8a2d4b6c-3e5f-4a7b-8c9d-0e1f2a3b4c5d';
const JOB_C = 'c0ffee00-1111-4222-8333-444455556666';
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enqueue-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

async function run(
  argv: string[],
  { env = {}, stdin = '' }: { env?: Record<string, string>; stdin?: string } = {},
) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    env,
    readStdin: async () => stdin,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The message bodies of every SendMessageBatch call, in order. */
function sentBodies(): unknown[] {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody ?? ''));
}

describe('npm run enqueue', () => {
  it('sends one message per job id given, with the defaults and its own source', async () => {
    const result = await run([
      '--queue-url',
      QUEUE,
      '--instance',
      INSTANCE,
      '--reason',
      'incident 42',
      JOB_A,
      JOB_B,
    ]);

    expect(result.code).toBe(0);
    expect(sentBodies()).toEqual([
      { jobId: JOB_A, instanceId: INSTANCE, reason: 'incident 42', source: 'enqueue-cli' },
      { jobId: JOB_B, instanceId: INSTANCE, reason: 'incident 42', source: 'enqueue-cli' },
    ]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.QueueUrl).toBe(QUEUE);
    expect(result.out).toContain(`sent 2 of 2 stop request(s) to ${QUEUE}`);
  });

  it('takes the queue from STOP_QUEUE_URL and sends more than 10 jobs in batches of 10', async () => {
    const ids = Array.from({ length: 23 }, (_, i) => `job-${i}`);

    const result = await run(ids, { env: { STOP_QUEUE_URL: QUEUE } });

    expect(result.code).toBe(0);
    expect(sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.length)).toEqual(
      [10, 10, 3],
    );
    expect(sentBodies().map((body) => (body as { jobId: string }).jobId)).toEqual(ids);
  });

  it('reads a file of ids and JSON messages, skipping blanks and comments; a message keeps its own fields', async () => {
    const file = join(dir, 'jobs.txt');
    await writeFile(
      file,
      `# tonight's runaway jobs\n${JOB_A}\n\n{"jobId": "${JOB_B}", "reason": "own reason", "instanceId": "other-instance"}\n  ${JOB_C}  \r\n`,
    );

    const result = await run(['--queue-url', QUEUE, '--reason', 'default reason', '--file', file]);

    expect(result.code).toBe(0);
    expect(sentBodies()).toEqual([
      { jobId: JOB_A, reason: 'default reason', source: 'enqueue-cli' },
      { jobId: JOB_B, reason: 'own reason', instanceId: 'other-instance', source: 'enqueue-cli' },
      { jobId: JOB_C, reason: 'default reason', source: 'enqueue-cli' },
    ]);
  });

  it('reads the list from stdin with --file -', async () => {
    const result = await run(['--queue-url', QUEUE, '--file', '-'], { stdin: `${JOB_A}\n${JOB_B}\n` });

    expect(result.code).toBe(0);
    expect(sentBodies()).toHaveLength(2);
  });

  it('sends nothing when one entry is invalid, and says which line and why', async () => {
    const file = join(dir, 'bad.txt');
    await writeFile(file, `${JOB_A}\n{"jobId": "${JOB_B}", "reasn": "typo"}\njob with spaces\n{not json\n`);

    const result = await run(['--queue-url', QUEUE, '--file', file]);

    expect(result.code).toBe(2);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(result.err).toContain(`${file}:2: unknown field(s): reasn`);
    expect(result.err).toContain(`${file}:3: jobId must be 1-64 letters, digits or dashes`);
    expect(result.err).toContain(`${file}:4: not valid JSON`);
    expect(result.err).toContain('3 invalid entries: nothing was sent');
  });

  it('names a bad argument by position', async () => {
    const result = await run(['--queue-url', QUEUE, JOB_A, '../etc']);

    expect(result.code).toBe(2);
    expect(result.err).toContain('argument 2: jobId must be 1-64 letters, digits or dashes');
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('sends the same job once, and says how many duplicates it skipped', async () => {
    const result = await run(['--queue-url', QUEUE, JOB_A, JOB_B, JOB_A]);

    expect(result.code).toBe(0);
    expect(sentBodies().map((body) => (body as { jobId: string }).jobId)).toEqual([JOB_A, JOB_B]);
    expect(result.out).toContain('(1 duplicate skipped)');
  });

  it('sends entries naming different runs of a job as different stops, and one run once however spelled', async () => {
    const result = await run(['--queue-url', QUEUE, '--file', '-'], {
      stdin: [
        `{"jobId": "${JOB_A}", "runStartedAt": "2026-05-27T10:04:35.743Z"}`,
        `{"jobId": "${JOB_A}", "runStartedAt": "2026-05-27T18:04:35.743+08:00"}`,
        `{"jobId": "${JOB_A}", "runStartedAt": "2026-05-28T10:04:35.743Z"}`,
        JOB_A,
      ].join('\n'),
    });

    expect(result.code).toBe(0);
    expect(sentBodies().map((body) => (body as { runStartedAt?: string }).runStartedAt)).toEqual([
      '2026-05-27T10:04:35.743Z',
      '2026-05-28T10:04:35.743Z',
      undefined,
    ]);
    expect(result.out).toContain('(1 duplicate skipped)');
  });

  it('--dry-run prints the checked messages and sends nothing, with no queue needed', async () => {
    const result = await run(['--dry-run', '--reason', 'check first', JOB_A]);

    expect(result.code).toBe(0);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(JSON.parse(result.out.split('\n')[0] ?? '')).toEqual({
      jobId: JOB_A,
      reason: 'check first',
      source: 'enqueue-cli',
    });
    expect(result.out).toContain('dry run: 1 message(s) checked, nothing sent');
  });

  it.each([
    [[JOB_A], 'no queue: pass --queue-url or set STOP_QUEUE_URL'],
    [['--queue-url', QUEUE], 'no jobs given'],
    [['--queue-url', QUEUE, '--bogus', JOB_A], "Unknown option '--bogus'"],
    [['--queue-url', QUEUE, '--file', '/nonexistent/list.txt'], 'cannot read /nonexistent/list.txt'],
    [['--queue-url', QUEUE, '--file', '-', JOB_A], 'give job ids or --file, not both'],
    [['--queue-url', QUEUE, '--source', 'x'.repeat(65), JOB_A], '--source must be 1-64 characters'],
  ])('refuses %j with a usage error and sends nothing', async (argv, message) => {
    const result = await run(argv);

    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('exits 1 and names the entries SQS kept refusing', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '1', Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad' }],
    });

    const result = await run(['--queue-url', QUEUE, JOB_A, JOB_B]);

    expect(result.code).toBe(1);
    expect(result.err).toContain(`not sent: ${JOB_B}: InvalidMessageContents bad`);
    expect(result.out).toContain('sent 1 of 2');
  });

  it('exits 1 when SQS cannot be reached, and says a re-run is safe', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .rejects(Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' }));

    const result = await run(['--queue-url', QUEUE, JOB_A]);

    expect(result.code).toBe(1);
    expect(result.err).toContain('sending failed: Error: connect ECONNREFUSED');
    expect(result.err).toContain('Sending the same list again is safe');
  });

  it('--help prints the usage', async () => {
    const result = await run(['--help']);

    expect(result.code).toBe(0);
    expect(result.out).toContain('usage: npm run enqueue');
  });
});
