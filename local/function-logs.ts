import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * In the local stack the functions' JSON log lines go to a file, and the console gets one readable
 * line per stop (and per reaper run) instead.
 */

type Line = Record<string, unknown>;

const short = (id: unknown) => (typeof id === 'string' ? id.slice(0, 8) : '?');
const extra = (line: Line) =>
  [
    line.status && `status ${line.status}`,
    line.source && `source ${line.source}`,
    line.reason && `"${line.reason}"`,
  ]
    .filter(Boolean)
    .join(', ');

/** The one-line account of a function log line, or undefined when it is not worth a line. */
export function describe(line: Line): string | undefined {
  switch (line.message) {
    case 'stop outcome':
      return `HTTP    job ${short(line.jobId)} → ${line.outcome}${extra(line) ? ` (${extra(line)})` : ''}`;
    case 'request rejected':
      return `HTTP    rejected: ${line.code} (${line.detail})`;
    case 'message processed':
      if (line.outcome === undefined) return `QUEUE   job ${short(line.jobId)} → ${line.detail}`;
      return `QUEUE   job ${short(line.jobId)} → ${line.outcome}${extra(line) ? ` (${extra(line)})` : ''}`;
    case 'message dead-lettered':
      return `QUEUE   message ${short(line.messageId)} → DLQ ${line.errorCode}: ${line.errorMessage}`;
    case 'message will be retried':
      return `QUEUE   job ${short(line.jobId)} → retry${line.nextAttemptSeconds === undefined ? ' later' : ` in ${line.nextAttemptSeconds} s`} (${line.errorCode}${line.probeInSeconds === undefined ? '' : ', no call: LakeFormation keeps failing'})`;
    case 'reaper run': {
      const s = (line.summary ?? {}) as Record<string, unknown>;
      return `REAPER  scanned ${s.scanned}, stale ${s.stale}, excluded ${s.excluded}, enqueued ${s.enqueued}, warned ${s.warned}, waiting ${s.waiting} (snoozed ${s.snoozed})${s.capped ? ' — CAPPED, nothing sent' : ''}${s.dryRun ? ' (dry run)' : ''}`;
    }
    case 'stop CONFIRMED':
      return `CONFIRM job ${short(line.jobId)} → CONFIRMED (${line.why}${line.status ? `, ${line.status}` : ''}; check ${line.checks})`;
    case 'stop STUCK: the job still runs at the end of the confirmation window':
      return `CONFIRM job ${short(line.jobId)} → STUCK (still ${line.status} after ${line.windowSeconds} s)`;
    case 'stop not confirmed yet':
      return `CONFIRM job ${short(line.jobId)} still ${line.status}; next check in ${line.nextCheckSeconds} s`;
    case 'stop sent again at half the confirmation window':
      return `CONFIRM job ${short(line.jobId)} → stop sent again (half the window)`;
    case 'job snoozed: left alone':
      return `REAPER  job ${short(line.jobId)} ${line.name} → snoozed: left alone until ${line.stopAt}`;
    case 'job warned: left alone until its stop time':
      return `REAPER  job ${short(line.jobId)} ${line.name} → warned: left alone until ${line.stopAt}`;
    case 'snooze link refused':
      return `SNOOZE  link refused: ${line.reason}`;
    case 'stale job enqueued for stop':
      return `REAPER  job ${short(line.jobId)} ${line.name} → queued (${line.reason})`;
    default:
      return line.level === 'ERROR' ? `ERROR   ${line.message}` : undefined;
  }
}

/** Diverts JSON log lines written to stdout/stderr into `file`, printing their one-line account. */
export function divertFunctionLogs(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, '');
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      if (!text.startsWith('{"level":') && !text.startsWith('{"_aws":')) return write(chunk, ...rest);
      appendFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
      if (text.startsWith('{"level":')) {
        for (const raw of text.split('\n')) {
          if (!raw) continue;
          const summary = describe(JSON.parse(raw) as Line);
          if (summary) write(`${new Date().toISOString().slice(11, 19)}  ${summary}\n`);
        }
      }
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
}
