import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isMain } from './is-main.js';

/**
 * `npm run stops -- list <jobId> | show <stopId>`: the stop ledger as an operator reads it, through the
 * HTTP API's receipts (`GET /jobs/{jobId}/stops`, `GET /stops/{stopId}`) of a stage or the local stack.
 */

export const USAGE = `usage: npm run stops -- list <jobId> [--instance <id>] [--limit 20] [--all]
       npm run stops -- show <stopId>
       npm run stops -- snoozes <jobId> [--instance <id>]   the reaper's warnings and snoozes of the job's runs

  --url <url>        the HTTP API (default: LF_STOPPER_URL, else the local stack http://127.0.0.1:3000)
  --token <token>    a bearer token of the webhook keys (default: LF_STOPPER_TOKEN; the local stack's own
                     token when --url is the local stack, http://127.0.0.1:<port>)
  --instance <id>    list the stops of a job of this instance (default: the service's default instance)
  --limit <n>        stops per page, 1-100 (default 20)
  --all              follow nextToken to the end
  --json             print the API's JSON instead of a table
  -h, --help         this text`;

export interface StopsIo {
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  out: (line: string) => void;
  err: (line: string) => void;
}

const LOCAL_URL = 'http://127.0.0.1:3000';

interface Row {
  stopId: string;
  createdAt: string;
  state: string;
  outcome: string;
  status?: string;
  runStartedAt?: string;
  requestCount?: number;
  requests?: { source: string; caller?: string; reason?: string; at: string }[];
  events?: { at: string; type: string; detail?: unknown }[];
  [field: string]: unknown;
}

/** Fixed-width columns: a header, a rule and one line per row. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)];
}

function localToken(): string | undefined {
  try {
    const config = JSON.parse(readFileSync(new URL('../local/seed/stack.json', import.meta.url), 'utf8')) as {
      webhook?: { bearerTokens?: string[] };
    };
    return config.webhook?.bearerTokens?.[0];
  } catch {
    return undefined;
  }
}

export async function main(argv: string[], io: StopsIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        instance: { type: 'string' },
        limit: { type: 'string', default: '20' },
        all: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  try {
    parsed = parse();
  } catch (error) {
    io.err(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [command, id, ...rest] = positionals;
  const known = command === 'list' || command === 'show' || command === 'snoozes';
  if (!known || id === undefined || rest.length > 0) {
    const why =
      command === undefined || (known && id === undefined)
        ? 'say list <jobId>, show <stopId> or snoozes <jobId>'
        : `unknown command or arguments: ${positionals.join(' ')}`;
    io.err(`error: ${why}\n\n${USAGE}`);
    return 2;
  }
  const limit = Number(values.limit);
  if (!/^\d{1,3}$/.test(values.limit) || limit < 1 || limit > 100) {
    io.err(`error: --limit must be an integer from 1 to 100, got ${JSON.stringify(values.limit)}`);
    return 2;
  }
  const base = (values.url ?? io.env.LF_STOPPER_URL ?? LOCAL_URL).replace(/\/+$/, '');
  try {
    new URL(base);
  } catch {
    io.err(`error: --url must be the HTTP API's base URL such as ${LOCAL_URL}, got ${JSON.stringify(base)}`);
    return 2;
  }
  // the local stack (on whatever port npm start was given) takes its own demo token
  const local = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(base);
  const token = values.token ?? io.env.LF_STOPPER_TOKEN ?? (local ? localToken() : undefined);
  if (!token) {
    io.err(
      'error: no bearer token: pass --token or set LF_STOPPER_TOKEN (a bearerTokens entry of the webhook secret)',
    );
    return 2;
  }

  const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    let response: Response;
    try {
      response = await io.fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    } catch (error) {
      throw new Error(
        `cannot reach ${base}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
      );
    }
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { detail: text.slice(0, 200) };
    }
    return { status: response.status, body };
  };
  const problem = (answer: { status: number; body: Record<string, unknown> }) =>
    `error: HTTP ${answer.status}${answer.body.code ? ` ${String(answer.body.code)}` : ''}: ${String(answer.body.detail ?? answer.body.message ?? '')}`;

  try {
    if (command === 'show') {
      const answer = await get(`/stops/${encodeURIComponent(id)}`);
      if (answer.status !== 200) {
        io.err(problem(answer));
        return 1;
      }
      if (values.json) io.out(JSON.stringify(answer.body, null, 2));
      else for (const line of showStop(answer.body as Row)) io.out(line);
      return 0;
    }
    const prefix = values.instance ? `/instances/${encodeURIComponent(values.instance)}` : '';
    if (command === 'snoozes') {
      const answer = await get(`${prefix}/jobs/${encodeURIComponent(id)}/snoozes`);
      if (answer.status !== 200) {
        io.err(problem(answer));
        return 1;
      }
      if (values.json) io.out(JSON.stringify(answer.body, null, 2));
      else
        for (const line of showSnoozes(id, (answer.body.items as WatchRow[] | undefined) ?? [])) io.out(line);
      return 0;
    }
    const rows: Row[] = [];
    let nextToken: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(limit), ...(nextToken && { nextToken }) });
      const answer = await get(`${prefix}/jobs/${encodeURIComponent(id)}/stops?${query}`);
      if (answer.status !== 200) {
        io.err(problem(answer));
        return 1;
      }
      rows.push(...((answer.body.items as Row[] | undefined) ?? []));
      nextToken = typeof answer.body.nextToken === 'string' ? answer.body.nextToken : undefined;
    } while (values.all && nextToken);
    if (values.json) {
      io.out(JSON.stringify({ items: rows, ...(nextToken && { nextToken }) }, null, 2));
      return 0;
    }
    if (rows.length === 0) {
      io.out(`no stops recorded for job ${id}`);
      return 0;
    }
    for (const line of table(
      ['CREATED', 'STOP ID', 'STATE', 'OUTCOME', 'STATUS', 'REQUESTS', 'FIRST SOURCE'],
      rows.map((row) => [
        row.createdAt,
        row.stopId,
        row.state,
        row.outcome,
        row.status ?? '',
        String(row.requestCount ?? row.requests?.length ?? 0),
        row.requests?.[0]?.source ?? '',
      ]),
    )) {
      io.out(line);
    }
    if (nextToken) io.out(`more: add --all, or ask again with the API's nextToken`);
    return 0;
  } catch (error) {
    io.err(`error: ${(error as Error).message}`);
    return 1;
  }
}

interface WatchRow {
  runStartedAt: string;
  warning?: { warnedAt: string; stopAt: string; limitMinutes: number; warnMinutes: number; name: string };
  snoozedUntil?: string;
  stopAt?: string;
  snoozes: number;
  snoozesLeft: number;
  snoozeLog: {
    at: string;
    minutes: number;
    until: string;
    source: string;
    caller?: string;
    reason?: string;
  }[];
}

/** A job's watched runs: per run its warning, stop time and snoozes, then each snooze. */
function showSnoozes(jobId: string, rows: WatchRow[]): string[] {
  if (rows.length === 0) return [`no warnings or snoozes recorded for job ${jobId}`];
  const lines = table(
    ['RUN STARTED', 'WARNED', 'STOP NO SOONER THAN', 'SNOOZED UNTIL', 'SNOOZES', 'LEFT'],
    rows.map((row) => [
      row.runStartedAt,
      row.warning?.warnedAt ?? '',
      row.stopAt ?? '',
      row.snoozedUntil ?? '',
      String(row.snoozes),
      String(row.snoozesLeft),
    ]),
  );
  const snoozes = rows.flatMap((row) =>
    row.snoozeLog.map((entry) => [
      row.runStartedAt,
      entry.at,
      `${entry.minutes} min`,
      entry.until,
      entry.source,
      entry.caller ?? '',
      entry.reason ?? '',
    ]),
  );
  if (snoozes.length > 0) {
    lines.push('', 'snoozes:');
    lines.push(
      ...table(['RUN STARTED', 'AT', 'FOR', 'UNTIL', 'SOURCE', 'CALLER', 'REASON'], snoozes).map(
        (line) => `  ${line}`,
      ),
    );
  }
  return lines;
}

/** One stop, as an operator reads it: its fields, then its requests and events. */
function showStop(stop: Row): string[] {
  const fields = [
    ['stop', stop.stopId],
    ['job', `${stop.jobId} (instance ${stop.instanceId})`],
    ['state', stop.state],
    ['outcome', stop.outcome],
    ...(stop.status ? [['job status', stop.status]] : []),
    ...(stop.runStartedAt ? [['run started', stop.runStartedAt]] : []),
    ...(typeof stop.detail === 'string' ? [['detail', stop.detail]] : []),
    ['created', stop.createdAt],
    ['updated', String(stop.updatedAt)],
  ] as [string, unknown][];
  const lines = fields.map(([name, value]) => `${`${name}:`.padEnd(13)}${String(value)}`);
  lines.push('', `requests (${stop.requestCount ?? stop.requests?.length ?? 0}):`);
  lines.push(
    ...table(
      ['AT', 'SOURCE', 'CALLER', 'REASON'],
      (stop.requests ?? []).map((r) => [r.at, r.source, r.caller ?? '', r.reason ?? '']),
    ).map((line) => `  ${line}`),
  );
  lines.push('', 'events:');
  lines.push(
    ...table(
      ['AT', 'EVENT', 'DETAIL'],
      (stop.events ?? []).map((e) => [e.at, e.type, e.detail === undefined ? '' : JSON.stringify(e.detail)]),
    ).map((line) => `  ${line}`),
  );
  return lines;
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2), {
    env: process.env,
    fetch,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
