import { parseArgs } from 'node:util';
import { HELP_OPTION, parseCommandLineOrExit, portNumber, UsageError } from './cli.js';
import { divertFunctionLogs } from './function-logs.js';
import { MotoMissingError } from './moto.js';
import { signedCurl } from './sign.js';
import { exitOnSignals } from './signals.js';
import { type LocalAuth, type PeopleEvent, parseLocalAuth, startStack } from './stack.js';

/**
 * `npm start`: the whole product on this machine with an embedded default. Ports: HTTP_PORT (3000),
 * EMULATOR_PORT (4010), MOTO_PORT (4566); 0 picks free ones. LOCAL_SCHEDULE_SECONDS sets the reaper period (60).
 * LOCAL_AUTH=aksk makes the functions sign their LakeFormation requests with an access key, and the
 * emulator refuse anything else (default `password`: IAM sign-in and tokens).
 */
const LOG_FILE = '.local/functions.log';

const USAGE = `usage: npm start [-- --help]

  Runs the whole product on this machine: the functions, moto (AWS), the LakeFormation + IAM
  emulator with demo jobs, and the reaper on a schedule. Ctrl-C stops everything.

  Settings, from the environment:
    HTTP_PORT                the HTTP function (3000)
    EMULATOR_PORT            the LakeFormation + IAM emulator (4010)
    MOTO_PORT                moto_server (4566); 0 for any of the three picks a free port
    LOCAL_SCHEDULE_SECONDS   the reaper's period (60; 0: no schedule)
    LOCAL_FIRST_RUN_SECONDS  the reaper's first run after start (20)
    LOCAL_AUTH               password (IAM sign-in, the default) or aksk (signed requests)`;
parseCommandLineOrExit(USAGE, () =>
  parseArgs({ args: process.argv.slice(2), options: { ...HELP_OPTION }, strict: true }),
);

/** A whole number of seconds from a variable: `min` and up, at most a day. */
function seconds(name: string, fallback: number, min: number): number {
  const raw = process.env[name]?.trim() || String(fallback);
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < min || Number(raw) > 86_400) {
    throw new UsageError(
      `${name} must be a whole number of seconds from ${min} to 86400, got ${JSON.stringify(process.env[name])}`,
    );
  }
  return Number(raw);
}

let auth: LocalAuth;
let settings: {
  httpPort: number;
  emulatorPort: number;
  motoPort: number;
  scheduleSeconds: number;
  firstRunSeconds: number;
};
try {
  auth = parseLocalAuth(process.env.LOCAL_AUTH);
  settings = {
    httpPort: portNumber('HTTP_PORT', process.env.HTTP_PORT?.trim() || '3000'),
    emulatorPort: portNumber('EMULATOR_PORT', process.env.EMULATOR_PORT?.trim() || '4010'),
    // serverless.yml's local stage names its queues on this port (serverless invoke local)
    motoPort: portNumber('MOTO_PORT', process.env.MOTO_PORT?.trim() || '4566'),
    // 0: the reaper runs only when asked (there is no schedule)
    scheduleSeconds: seconds('LOCAL_SCHEDULE_SECONDS', 60, 0),
    firstRunSeconds: seconds('LOCAL_FIRST_RUN_SECONDS', 20, 0),
  };
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exit(2);
}
const AUTH_LINE: Record<LocalAuth, string> = {
  password: 'IAM password sign-in, X-Auth-Token (LOCAL_AUTH=aksk: signed requests instead)',
  aksk: 'AK/SK: every request signed (SDK-HMAC-SHA256), no IAM call; the emulator refuses tokens',
};

const time = (iso: unknown) => (typeof iso === 'string' ? `${iso.slice(11, 16)} UTC` : '?');
/** What people would get by e-mail or chat (the people rule), as a console line: a warning's snooze link above all. */
function tellPeople(event: PeopleEvent): void {
  const d = event.detail;
  const at = new Date().toISOString().slice(11, 19);
  const job = `job ${String(d.jobId).slice(0, 8)} ${d.name ?? ''}`.trimEnd();
  const lines: Record<string, string> = {
    'Job Warned': `${at}  WARNED  ${job}: running ${d.runningMinutes} min, limit ${d.limitMinutes} min; the reaper stops it after ${time(d.stopAt)} unless snoozed\n          snooze it (open in a browser): ${d.snoozeUrl ?? '(no link: the webhook secret has no linkKeys)'}`,
    'Stop Snoozed': `${at}  SNOOZED ${job} until ${time(d.snoozedUntil)} (${d.source}); the reaper leaves it alone until then, ${d.snoozesLeft} snooze(s) left`,
    'Stop Stuck': `${at}  STUCK   ${job}: still running at the end of the confirmation window`,
    'Reaper Capped': `${at}  CAPPED  the reaper found more jobs to act on than maxStopsPerRun and did nothing`,
  };
  console.log(lines[event['detail-type']] ?? `${at}  EVENT   ${event['detail-type']}`);
}

let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack({
    httpPort: settings.httpPort,
    emulatorPort: settings.emulatorPort,
    motoPort: settings.motoPort,
    scheduleMs: settings.scheduleSeconds * 1000,
    firstRunMs: settings.firstRunSeconds * 1000,
    auth,
    onPeopleEvent: tellPeople,
  });
} catch (error) {
  if (error instanceof MotoMissingError) {
    console.error(error.message);
    process.exit(1);
  }
  if (error instanceof UsageError) {
    // MOTO_PORT in use: refused before moto_server was started
    console.error(`error: ${error.message}`);
    process.exit(2);
  }
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    const { port: busy } = error as { port?: number };
    const variable =
      busy === settings.httpPort ? 'HTTP_PORT' : busy === settings.emulatorPort ? 'EMULATOR_PORT' : undefined;
    console.error(
      variable
        ? `error: ${variable} ${busy} is in use: set ${variable} to another port, or 0 for a free one`
        : `error: port ${busy} is in use: set HTTP_PORT, EMULATOR_PORT or MOTO_PORT to another port, or 0 for a free one`,
    );
    process.exit(2);
  }
  throw error;
}

const jobs = stack.emulator.store.all();
// the CLIs default to port 3000: name the stack's URL when it is another
const urlFlag = stack.httpUrl === 'http://127.0.0.1:3000' ? '' : ` --url ${stack.httpUrl}`;
const byName = (name: string) => jobs.find((job) => job.name === name)?.id ?? jobs[0]?.id ?? 'JOB_ID';
// moto reads the service from the credential scope and does not check the signature.
const queueCurl = [
  `curl -sS ${stack.queueUrl} -d Action=SendMessage`,
  `  -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=local'`,
  `  --data-urlencode 'MessageBody={"jobId":"${byName('adhoc_table_discovery')}","reason":"sent by hand","source":"curl"}'`,
].join(' \\\n');

console.log(`
lf-job-stopper local stack
  HTTP function        ${stack.httpUrl}   POST /jobs/{jobId}/stop, POST /instances/{instanceId}/jobs/{jobId}/stop
  stop queue (SQS)     ${stack.queueUrl}
  dead-letter queue    ${stack.dlqUrl}
  LakeFormation + IAM  ${stack.emulator.url}   jobs: ${stack.emulator.url}/_admin/jobs
  Huawei auth          ${AUTH_LINE[stack.auth]}
  moto                 ${stack.moto.url}   (pid ${stack.moto.pid})
  reaper               ${settings.scheduleSeconds > 0 ? `every ${settings.scheduleSeconds} s, first run in ${settings.firstRunSeconds} s` : 'off (LOCAL_SCHEDULE_SECONDS=0)'}; policy in local/seed/stack.json
  function logs        ${LOG_FILE}

Stop a job over HTTP (signed now, valid for 5 minutes; a fresh one: npm run sign -- <jobId>${urlFlag}):

${signedCurl(stack.httpUrl, byName('obs_lake_discovery'))}

Every answer carries a stopId, its receipt in the stop ledger (a 202 also has Location: /stops/<stopId>):

curl -sS ${stack.httpUrl}/stops/<stopId> -H 'Authorization: Bearer ${stack.config.webhook.bearerTokens[0] ?? ''}'
npm run stops -- list ${byName('obs_lake_discovery')}${urlFlag}     (a job's stops; npm run stops -- show <stopId>)

Stop one through the queue:

${queueCurl}

or any number of them with the enqueue command (ids as arguments, or --file):

  AWS_ENDPOINT_URL=${stack.moto.url} AWS_REGION=${process.env.AWS_REGION} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\
    npm run enqueue -- --queue-url ${stack.queueUrl} --reason 'sent by hand' ${byName('adhoc_table_discovery')}

The reaper warns before it stops quarterly_* jobs (warnMinutes 30): at its first run it warns
${byName('quarterly_ledger_reconcile')} and prints the snooze link of the warning (a Job Warned event) here.
Open the link in a browser and press the button, and the reaper leaves the job alone ("job snoozed").
Snoozes of a job, and snoozing through the API instead:

npm run stops -- snoozes ${byName('quarterly_ledger_reconcile')}${urlFlag}
curl -sS -X POST ${stack.httpUrl}/jobs/${byName('quarterly_ledger_reconcile')}/snooze -H 'Authorization: Bearer ${stack.config.webhook.bearerTokens[0] ?? ''}' \\
  -H 'Content-Type: application/json' -d '{"minutes": 60, "reason": "month-end close"}'

Demo jobs:
${jobs.map((job) => `  ${job.id}  ${job.status.padEnd(18)} ${job.name}`).join('\n')}

Ctrl-C stops everything.
`);
divertFunctionLogs(LOG_FILE);

// Ctrl-C, or a signal from whatever started npm start: a clean stop of everything is a normal end
exitOnSignals(
  async () => {
    console.log('stopping…');
    await stack.stop();
  },
  { exitCode: 0 },
);
