import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { enqueueStops } from '../lib/domain/enqueue.js';
import {
  checkStopMessage,
  MAX_SOURCE_LENGTH,
  parseRunStartedAt,
  type StopMessage,
} from '../lib/domain/stop-request.js';
import { isJsonObject } from '../lib/platform/objects.js';
import { isTextUpTo } from '../lib/platform/text.js';
import { AWS_CLIENT_OPTIONS } from '../lib/upstream/aws/client-options.js';
import { isMain } from './is-main.js';

/**
 * `npm run enqueue -- [options] <jobId>… | --file <path|->`: puts stop requests on the stop queue, for
 * an operator with a list of jobs to stop. Every entry is checked against the message schema before
 * anything is sent; one bad entry sends nothing. The queue function then stops them like any other
 * message (outcomes in its log, refusals in the DLQ).
 */

export const USAGE = `usage: npm run enqueue -- [options] <jobId>...
       npm run enqueue -- [options] --file <path, or - for stdin>

  --queue-url <url>   the stop queue (default: STOP_QUEUE_URL)
  --instance <id>     instance for entries that name none (default: the function's default instance)
  --reason <text>     reason for entries that give none
  --source <name>     who asks, logged with each outcome (default: enqueue-cli)
  --dry-run           check and print the messages, send nothing

A file holds one entry per line: a job id, or a JSON message such as
{"jobId": "...", "instanceId": "...", "reason": "...", "runStartedAt": "<the job's start_time>"} (with
runStartedAt only that run is stopped). Empty lines and lines starting with # are skipped.
AWS credentials and region come from the usual AWS SDK sources (environment, profile, SSO).`;

export interface CliIo {
  env: Record<string, string | undefined>;
  readStdin: () => Promise<string>;
  out: (line: string) => void;
  err: (line: string) => void;
}

interface Defaults {
  instanceId?: string;
  reason?: string;
  source: string;
}

export interface ParsedList {
  messages: StopMessage[];
  errors: string[];
  duplicates: number;
}

/**
 * Turns entries (bare job ids or JSON messages, with where each came from) into checked messages.
 * Defaults fill only the fields an entry leaves out; the same job twice is sent once.
 */
export function parseStopList(entries: { text: string; where: string }[], defaults: Defaults): ParsedList {
  const messages: StopMessage[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  for (const { text, where } of entries) {
    let value: unknown;
    if (text.startsWith('{')) {
      try {
        value = JSON.parse(text);
      } catch {
        errors.push(`${where}: not valid JSON`);
        continue;
      }
    } else {
      value = { jobId: text };
    }
    const withDefaults = isJsonObject(value)
      ? {
          ...(defaults.instanceId !== undefined && { instanceId: defaults.instanceId }),
          ...(defaults.reason !== undefined && { reason: defaults.reason }),
          source: defaults.source,
          ...value,
        }
      : value;
    const check = checkStopMessage(withDefaults);
    if (!check.ok) {
      errors.push(`${where}: ${check.errorMessage}`);
      continue;
    }
    // the same stop twice; entries naming different runs of a job (or one naming none) are different stops
    const { instanceId, jobId, runStartedAt } = check.message;
    const key = `${instanceId ?? ''}/${jobId}/${parseRunStartedAt(runStartedAt) ?? ''}`;
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    messages.push(check.message);
  }
  return { messages, errors, duplicates };
}

/** Lines of a list file, without blanks and `#` comments, each with its line number. */
function fileEntries(text: string, name: string): { text: string; where: string }[] {
  return text
    .split(/\r?\n/)
    .map((line, index) => ({ text: line.trim(), where: `${name}:${index + 1}` }))
    .filter((entry) => entry.text !== '' && !entry.text.startsWith('#'));
}

/** Runs the command; returns the exit code (0 all sent, 1 some not sent, 2 nothing sent: bad usage or input). */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(argv);
  } catch (error) {
    io.err(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const queueUrl = values['queue-url'] ?? io.env.STOP_QUEUE_URL;
  if (!values['dry-run'] && !queueUrl) {
    io.err(`error: no queue: pass --queue-url or set STOP_QUEUE_URL\n\n${USAGE}`);
    return 2;
  }
  if (values.file !== undefined && positionals.length > 0) {
    io.err(`error: give job ids or --file, not both\n\n${USAGE}`);
    return 2;
  }
  const source = values.source ?? 'enqueue-cli';
  if (source === '' || !isTextUpTo(source, MAX_SOURCE_LENGTH)) {
    io.err(`error: --source must be 1-${MAX_SOURCE_LENGTH} characters`);
    return 2;
  }

  let entries: { text: string; where: string }[];
  if (values.file !== undefined) {
    const name = values.file === '-' ? 'stdin' : values.file;
    let text: string;
    try {
      text = values.file === '-' ? await io.readStdin() : await readFile(values.file, 'utf8');
    } catch (error) {
      io.err(`error: cannot read ${name}: ${(error as Error).message}`);
      return 2;
    }
    entries = fileEntries(text, name);
  } else {
    entries = positionals.map((text, index) => ({ text, where: `argument ${index + 1}` }));
  }
  if (entries.length === 0) {
    io.err(`error: no jobs given\n\n${USAGE}`);
    return 2;
  }

  const { messages, errors, duplicates } = parseStopList(entries, {
    ...(values.instance !== undefined && { instanceId: values.instance }),
    ...(values.reason !== undefined && { reason: values.reason }),
    source,
  });
  if (errors.length > 0) {
    for (const error of errors.slice(0, 20)) io.err(error);
    if (errors.length > 20) io.err(`… and ${errors.length - 20} more`);
    io.err(`error: ${errors.length} invalid entr${errors.length === 1 ? 'y' : 'ies'}: nothing was sent`);
    return 2;
  }
  const skipped = duplicates > 0 ? ` (${duplicates} duplicate${duplicates === 1 ? '' : 's'} skipped)` : '';
  if (values['dry-run']) {
    for (const message of messages) io.out(JSON.stringify(message));
    io.out(`dry run: ${messages.length} message(s) checked${skipped}, nothing sent`);
    return 0;
  }

  // the region first: a send that cannot start must not read as one that may have sent some
  const region =
    io.env.AWS_REGION?.trim() ||
    io.env.AWS_DEFAULT_REGION?.trim() ||
    regionOfQueue(queueUrl ?? '') ||
    (await sdkRegion());
  if (!region) {
    io.err(
      'error: no AWS region: set AWS_REGION (or a profile region), or give the queue as https://sqs.<region>.amazonaws.com/<account>/<name>; nothing was sent',
    );
    return 2;
  }

  let result: Awaited<ReturnType<typeof enqueueStops>>;
  try {
    result = await enqueueStops(queueUrl ?? '', messages, new SQSClient({ ...AWS_CLIENT_OPTIONS, region }));
  } catch (error) {
    io.err(
      `error: sending failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n` +
        'Some messages may have been sent before the failure. Sending the same list again is safe: ' +
        'a job already stopped comes out as NOT_RUNNING.',
    );
    return 1;
  }
  const { sent, failed } = result;
  for (const failure of failed) {
    io.err(`not sent: ${failure.item.jobId}: ${failure.code} ${failure.message}`.trimEnd());
  }
  io.out(`sent ${sent} of ${messages.length} stop request(s) to ${queueUrl}${skipped}`);
  return failed.length > 0 ? 1 : 0;
}

/** The region an SQS queue URL names (`https://sqs.eu-west-1.amazonaws.com/…`). */
function regionOfQueue(url: string): string | undefined {
  return /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\//.exec(url)?.[1];
}

/** The region the AWS SDK finds on its own (a profile's), if any. */
async function sdkRegion(): Promise<string | undefined> {
  try {
    return await new SQSClient({}).config.region();
  } catch {
    return undefined;
  }
}

function parseCliArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'queue-url': { type: 'string' },
      instance: { type: 'string' },
      reason: { type: 'string' },
      source: { type: 'string' },
      file: { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

if (isMain(import.meta.url)) {
  const readStdin = async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  main(process.argv.slice(2), {
    env: process.env,
    readStdin,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
