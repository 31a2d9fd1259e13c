import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { drainQueue, uniqueName, useMoto } from '../support/aws.js';

let endpoint: string;
let sqs: SQSClient;

beforeAll(() => {
  endpoint = useMoto();
  sqs = new SQSClient({});
});

/** `npm run enqueue -- …` as an operator runs it, against moto. */
function enqueue(
  args: string[],
  stdin = '',
  script = 'cli/enqueue-stops.ts',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      env: { ...process.env, AWS_ENDPOINT_URL: endpoint },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('the enqueue command against SQS on moto', () => {
  it('puts one valid stop message per job on the queue', async () => {
    const queueUrl =
      (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('cli-stop') }))).QueueUrl ?? '';
    const ids = Array.from({ length: 12 }, (_, i) => `cli-job-${i}`);

    const result = await enqueue(
      ['--queue-url', queueUrl, '--reason', 'bulk stop', '--file', '-'],
      ids.join('\n'),
    );

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`sent 12 of 12 stop request(s) to ${queueUrl}`);
    const bodies = (await drainQueue(sqs, queueUrl)).map((m) => JSON.parse(m.Body ?? '{}'));
    expect(bodies.map((b) => b.jobId).sort()).toEqual([...ids].sort());
    expect(bodies.every((b) => b.reason === 'bulk stop' && b.source === 'enqueue-cli')).toBe(true);
  });

  it('runs from a folder whose name has a space, through a symlink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lf stop '));
    const link = join(dir, 'enqueue stops.ts');
    symlinkSync(resolve('cli/enqueue-stops.ts'), link);
    try {
      const result = await enqueue(['--dry-run', 'job-1'], '', link);

      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('dry run: 1 message(s) checked, nothing sent');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves the queue empty and exits 2 when an entry is invalid', async () => {
    const queueUrl =
      (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('cli-stop') }))).QueueUrl ?? '';

    const result = await enqueue(['--queue-url', queueUrl, 'good-job', 'bad/job']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('argument 2: jobId must be 1-64 letters, digits or dashes');
    expect(await drainQueue(sqs, queueUrl)).toEqual([]);
  });

  it('exits 1 with the SDK reason when the queue does not exist', async () => {
    const result = await enqueue([
      '--queue-url',
      `${endpoint}/123456789012/${uniqueName('missing')}`,
      'job-1',
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/sending failed: .*queue/i);
  });
});
