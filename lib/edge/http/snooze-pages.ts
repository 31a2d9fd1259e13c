import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * The snooze link's pages: plain server-rendered HTML, no script, no external resource (the style
 * is inline, the Content-Security-Policy allows nothing else), readable on a phone. Every value
 * shown is escaped: job names are user data.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for HTML content and quoted attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

const HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  // the page's URL carries the link's token: never send it on
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1b1f24;line-height:1.5}
main{max-width:34rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.4rem;margin:0 0 1rem}
.card{background:#fff;border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0 0 1.25rem}
dt{color:#59636e}dd{margin:0;overflow-wrap:anywhere}
button{font:inherit;font-size:1.1rem;width:100%;padding:.85rem;border:0;border-radius:.5rem;background:#0b5fff;color:#fff;cursor:pointer}
.note{color:#59636e;font-size:.9rem;margin-top:1rem}
.ok{border-left:.4rem solid #1a7f37}.refused{border-left:.4rem solid #cf222e}
`;

function page(title: string, body: string, tone: 'ok' | 'refused' | 'plain' = 'plain'): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · lf-job-stopper</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="card ${tone}">
<h1>${escapeHtml(title)}</h1>
${body}
</div>
</main>
</body>
</html>
`;
}

function html(statusCode: number, body: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { ...HEADERS }, body };
}

/** `2026-12-02 14:05 UTC`. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `3 h 20 min`, `45 min`. */
export function formatMinutes(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

export interface JobView {
  jobId: string;
  instanceId: string;
  name?: string;
  runStartedAt: number;
}

function details(job: JobView, rows: [string, string][]): string {
  const all: [string, string][] = [
    ['Job', job.name ?? job.jobId],
    ['Job id', job.jobId],
    ['Instance', job.instanceId],
    ['Running since', formatTime(job.runStartedAt)],
    ...rows,
  ];
  return `<dl>${all.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>`;
}

/** `GET /snooze`: what the link would do, and the button that does it. Changes nothing. */
export function snoozeOfferPage(view: {
  job: JobView;
  /** When the reaper may stop the job now; unknown when the warning was not recorded. */
  stopAt?: number;
  minutes: number;
  snoozesLeft: number;
  token: string;
}): APIGatewayProxyStructuredResultV2 {
  const stop = view.stopAt === undefined ? 'when its limit has passed' : formatTime(view.stopAt);
  const body = `<p>The stale-job reaper will stop this job at its first run after the stop time below.
You can snooze it for ${escapeHtml(formatMinutes(view.minutes))} from now: the reaper then leaves it alone until the later of the stop time and the end of the snooze.</p>
${details(view.job, [
  ['Stop time', stop],
  ['Snoozes left', String(view.snoozesLeft)],
])}
<form method="post">
<input type="hidden" name="t" value="${escapeHtml(view.token)}">
<button type="submit">Snooze for ${escapeHtml(formatMinutes(view.minutes))}</button>
</form>
<p class="note">Opening this page changes nothing; only the button does. The link works once.</p>`;
  return html(200, page('Snooze the stop of this job?', body));
}

/** `POST /snooze` that worked. */
export function snoozedPage(view: {
  job: JobView;
  snoozedUntil: number;
  stopAt: number;
  snoozesLeft: number;
}): APIGatewayProxyStructuredResultV2 {
  const body = `<p>The reaper will leave this job alone until ${escapeHtml(formatTime(view.stopAt))}. The snooze holds for this run of the job only.</p>
${details(view.job, [
  ['Snoozed until', formatTime(view.snoozedUntil)],
  // the warning's own stop time, when it is later than the snooze
  ...(view.stopAt > view.snoozedUntil ? [['Stop time', formatTime(view.stopAt)] as [string, string]] : []),
  ['Snoozes left', String(view.snoozesLeft)],
])}`;
  return html(200, page('Snoozed', body, 'ok'));
}

/** Why a link or a snooze was refused; each has its own status. */
export const LINK_REFUSALS = {
  malformed: {
    status: 400,
    title: 'This link is not a snooze link',
    text: 'The link is incomplete or damaged. Copy the whole link from the warning and try again.',
  },
  tampered: {
    status: 400,
    title: 'This link has been altered',
    text: 'Its signature does not match what it says, so it was refused. Use the link exactly as the warning gave it.',
  },
  'unknown-key': {
    status: 403,
    title: 'This link was signed with a key this service no longer has',
    text: 'Its key was rotated out. Snooze the job through the API, or wait for the next warning.',
  },
  expired: {
    status: 410,
    title: 'This link has expired',
    text: 'A snooze link works until an hour after the stop time it postpones.',
  },
  used: {
    status: 409,
    title: 'This link has been used already',
    text: 'A snooze link works once. The snooze it made still holds.',
  },
  limit: {
    status: 409,
    title: 'No snoozes left for this run',
    text: 'This run of the job has been snoozed as often as the policy allows.',
  },
  'not-running': {
    status: 409,
    title: 'The job is no longer running',
    text: 'There is nothing to snooze: the run this link was for has ended.',
  },
  'under-way': {
    status: 409,
    title: 'This job is being stopped already',
    text: 'Its stop was requested before the snooze, so the snooze cannot hold it back.',
  },
  'not-found': {
    status: 404,
    title: 'The job does not exist',
    text: 'LakeFormation has no such job any more.',
  },
  unavailable: {
    status: 503,
    title: 'The snooze could not be made right now',
    text: 'Try again in a minute with the same link: it still works if the snooze was not made, and says so if it was.',
  },
} as const;

export type LinkRefusal = keyof typeof LINK_REFUSALS;

/** A refusal page: which refusal, with `detail` (escaped) and the job when known. */
export function refusedPage(
  refusal: LinkRefusal,
  extra: { detail?: string; job?: JobView; retryAfterSeconds?: number } = {},
): APIGatewayProxyStructuredResultV2 {
  const { status, title, text } = LINK_REFUSALS[refusal];
  const body = `<p>${escapeHtml(text)}</p>
${extra.detail ? `<p>${escapeHtml(extra.detail)}</p>` : ''}
${extra.job ? details(extra.job, []) : ''}`;
  const response = html(status, page(title, body, 'refused'));
  if (extra.retryAfterSeconds !== undefined) {
    (response.headers as Record<string, string>)['Retry-After'] = String(extra.retryAfterSeconds);
  }
  return response;
}
