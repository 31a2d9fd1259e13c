import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  ScheduledEvent,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { type EmulatorOptions, type LakeFormationEmulator, startEmulator } from './emulator/server.js';
import { lambdaContext } from './lambda-context.js';
import { createLedgerTable } from './ledger-table.js';
import { type Moto, startMoto } from './moto.js';
import { createStopQueues } from './queues.js';
import { startPoller } from './sqs-poller.js';

/**
 * The local stack: moto (SQS, Secrets Manager, DynamoDB), the LakeFormation + IAM emulator with demo
 * jobs, and the real handlers: the HTTP functions (stops, and receipts from the ledger) behind a small
 * API Gateway v2 adapter, the queue function behind an SQS poller, and the reaper on a timer.
 */

export interface StackOptions {
  /** @default 0 (a free port) */
  httpPort?: number;
  /** @default 0 (a free port) */
  emulatorPort?: number;
  /** moto's port (the local stage of serverless.yml names its queues on 4566). @default 0 (a free port) */
  motoPort?: number;
  /** Reaper period; 0 runs it only on demand. @default 60000 */
  scheduleMs?: number;
  /** Delay before the first reaper run. @default 5000 */
  firstRunMs?: number;
  /**
   * How the functions authenticate to the emulated LakeFormation: `password` (IAM sign-in, tokens) or
   * `aksk` (the seed's access key in the credentials secret, every request signed; the emulator then
   * refuses tokens). @default 'password'
   */
  auth?: LocalAuth;
  /**
   * Called with each event the people rule delivers (Job Warned, Stop Snoozed, Stop Stuck, Reaper
   * Capped), as serverless.yml's rule sends them to the people topic. Without it the events wait on
   * the stack's people queue (`peopleQueueUrl`) for whoever reads them.
   */
  onPeopleEvent?: (event: PeopleEvent) => void;
}

/** An event of the people rule, as EventBridge delivers it to a queue. */
export interface PeopleEvent {
  'detail-type': string;
  source: string;
  time: string;
  detail: Record<string, unknown>;
}

/** The lifecycle events serverless.yml's people rule sends on to people, and the snooze that follows a warning. */
export const PEOPLE_EVENT_TYPES = ['Stop Stuck', 'Job Warned', 'Reaper Capped', 'Stop Snoozed'];

/** The credential forms `npm start` can run with (`LOCAL_AUTH`). */
export const LOCAL_AUTHS = ['password', 'aksk'] as const;
export type LocalAuth = (typeof LOCAL_AUTHS)[number];

/** `LOCAL_AUTH` read: unset or blank is `password`; anything but the two forms is refused, naming them. */
export function parseLocalAuth(raw: string | undefined): LocalAuth {
  const value = raw?.trim() ?? '';
  if (value === '') return 'password';
  if ((LOCAL_AUTHS as readonly string[]).includes(value)) return value as LocalAuth;
  throw new Error(
    `LOCAL_AUTH must be ${LOCAL_AUTHS.join(' or ')}, got ${JSON.stringify(value.slice(0, 40))}`,
  );
}

/** The local credentials secret for `auth`, from the seed's first IAM user or access key. */
function localCredentials(seed: EmulatorOptions, auth: LocalAuth): Record<string, string> {
  if (auth === 'aksk') {
    const key = seed.accessKeys?.[0];
    if (!key) throw new Error('local/seed/demo.json has no access key');
    return { accessKey: key.accessKey, secretKey: key.secretKey };
  }
  const user = seed.users[0];
  if (!user) throw new Error('local/seed/demo.json has no user');
  return { userName: user.name, password: user.password, domainName: user.domain };
}

export interface StackConfig {
  webhook: { hmacKeys: string[]; bearerTokens: string[]; linkKeys: string[] };
  policy: unknown;
  stopDelayMs: number;
  /** Confirmation timing, shorter than a stage's so that CONFIRMED and STUCK show within a minute. */
  confirm: { firstCheckSeconds: number; windowSeconds: number };
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** The functions' timeouts in serverless.yml, which their local contexts count down from. */
export const FUNCTION_TIMEOUTS_MS = {
  stopJob: 20_000,
  readStops: 10_000,
  bulkStop: 60_000,
  confirmStops: 60_000,
  stopStaleJobs: 300_000,
  snoozeJob: 10_000,
  snoozeLink: 10_000,
} as const;

type HttpHandler = Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
type HttpFunction = 'stopJob' | 'readStops' | 'snoozeJob' | 'snoozeLink';

export interface StackHandlers {
  stopJob: HttpHandler;
  readStops: HttpHandler;
  snoozeJob: HttpHandler;
  snoozeLink: HttpHandler;
  bulkStop: Handler<SQSEvent, SQSBatchResponse>;
  confirmStops: Handler<SQSEvent, SQSBatchResponse>;
  stopStaleJobs: Handler<ScheduledEvent, unknown>;
}

export interface Stack {
  moto: Moto;
  emulator: LakeFormationEmulator;
  httpUrl: string;
  queueUrl: string;
  dlqUrl: string;
  /** Where the people rule's events wait when no `onPeopleEvent` reads them. */
  peopleQueueUrl: string;
  seed: EmulatorOptions;
  config: StackConfig;
  /** How the functions authenticate to LakeFormation. */
  auth: LocalAuth;
  sqs: SQSClient;
  /** The real handlers, configured for this stack. */
  handlers: StackHandlers;
  /** Runs the reaper now. */
  reap(): Promise<unknown>;
  stop(): Promise<void>;
}

/** The HTTP API's routes (serverless.yml), and the function each goes to. */
const ROUTES: {
  routeKey: string;
  pattern: RegExp;
  params: string[];
  fn: HttpFunction;
}[] = [
  {
    routeKey: 'POST /jobs/{jobId}/stop',
    pattern: /^\/jobs\/([^/]+)\/stop$/,
    params: ['jobId'],
    fn: 'stopJob',
  },
  {
    routeKey: 'POST /instances/{instanceId}/jobs/{jobId}/stop',
    pattern: /^\/instances\/([^/]+)\/jobs\/([^/]+)\/stop$/,
    params: ['instanceId', 'jobId'],
    fn: 'stopJob',
  },
  { routeKey: 'GET /stops/{stopId}', pattern: /^\/stops\/([^/]+)$/, params: ['stopId'], fn: 'readStops' },
  {
    routeKey: 'GET /jobs/{jobId}/stops',
    pattern: /^\/jobs\/([^/]+)\/stops$/,
    params: ['jobId'],
    fn: 'readStops',
  },
  {
    routeKey: 'GET /instances/{instanceId}/jobs/{jobId}/stops',
    pattern: /^\/instances\/([^/]+)\/jobs\/([^/]+)\/stops$/,
    params: ['instanceId', 'jobId'],
    fn: 'readStops',
  },
  {
    routeKey: 'POST /jobs/{jobId}/snooze',
    pattern: /^\/jobs\/([^/]+)\/snooze$/,
    params: ['jobId'],
    fn: 'snoozeJob',
  },
  {
    routeKey: 'POST /instances/{instanceId}/jobs/{jobId}/snooze',
    pattern: /^\/instances\/([^/]+)\/jobs\/([^/]+)\/snooze$/,
    params: ['instanceId', 'jobId'],
    fn: 'snoozeJob',
  },
  {
    routeKey: 'GET /jobs/{jobId}/snoozes',
    pattern: /^\/jobs\/([^/]+)\/snoozes$/,
    params: ['jobId'],
    fn: 'snoozeJob',
  },
  {
    routeKey: 'GET /instances/{instanceId}/jobs/{jobId}/snoozes',
    pattern: /^\/instances\/([^/]+)\/jobs\/([^/]+)\/snoozes$/,
    params: ['instanceId', 'jobId'],
    fn: 'snoozeJob',
  },
  { routeKey: 'GET /snooze', pattern: /^\/snooze$/, params: [], fn: 'snoozeLink' },
  { routeKey: 'POST /snooze', pattern: /^\/snooze$/, params: [], fn: 'snoozeLink' },
];

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** What API Gateway (HTTP API, payload 2.0) would hand the function for this request. */
function toApiGatewayEvent(
  req: IncomingMessage,
  body: Buffer,
  url: URL,
): { event: APIGatewayProxyEventV2; fn: HttpFunction } | undefined {
  for (const route of ROUTES) {
    const match = route.pattern.exec(url.pathname);
    if (!match || req.method !== route.routeKey.split(' ')[0]) continue;
    const pathParameters = Object.fromEntries(
      route.params.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? '')]),
    );
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([key, value]) => [
        key.toLowerCase(),
        Array.isArray(value) ? value.join(',') : (value ?? ''),
      ]),
    );
    const now = Date.now();
    const query = Object.fromEntries(url.searchParams);
    const event: APIGatewayProxyEventV2 = {
      version: '2.0',
      routeKey: route.routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        domainName: url.host,
        domainPrefix: 'local',
        http: {
          method: req.method ?? 'POST',
          path: url.pathname,
          protocol: 'HTTP/1.1',
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey: route.routeKey,
        stage: '$default',
        time: new Date(now).toISOString(),
        timeEpoch: now,
      },
      pathParameters,
      ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
      ...(body.length > 0 && { body: body.toString('base64') }),
      isBase64Encoded: true,
    };
    return { event, fn: route.fn };
  }
  return undefined;
}

/** Serves the HTTP routes; `handlers` is filled in once the functions are imported. */
function serveHttp(handlers: Partial<Pick<StackHandlers, HttpFunction>>, port: number): Promise<Server> {
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const body = await readBody(req);
    const routed = toApiGatewayEvent(req, body, url);
    if (!routed) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end('{"message":"Not Found"}');
      return;
    }
    try {
      const { event, fn } = routed;
      const handler = handlers[fn];
      if (!handler) throw new Error(`${fn} is not loaded yet`);
      const result = await handler(event, lambdaContext(fn, FUNCTION_TIMEOUTS_MS[fn]));
      res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
      res.end(result.body ?? '');
    } catch {
      // what API Gateway answers when the function itself fails
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end('{"message":"Internal Server Error"}');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * The event bus, and a rule that sends the people's events to a queue: serverless.yml's people rule
 * goes to an SNS topic (e-mail, chat); locally a queue holds them for the console and the tests.
 */
async function peopleRule(sqs: SQSClient, busName: string): Promise<string> {
  const eventBridge = new EventBridgeClient({});
  await eventBridge.send(new CreateEventBusCommand({ Name: busName }));
  const queueUrl =
    (await sqs.send(new CreateQueueCommand({ QueueName: 'lf-job-stopper-local-people' }))).QueueUrl ?? '';
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  await eventBridge.send(
    new PutRuleCommand({
      Name: 'lf-job-stopper-local-people',
      EventBusName: busName,
      EventPattern: JSON.stringify({ source: ['lf-job-stopper'], 'detail-type': PEOPLE_EVENT_TYPES }),
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: 'lf-job-stopper-local-people',
      EventBusName: busName,
      Targets: [{ Id: 'people-queue', Arn: Attributes?.QueueArn }],
    }),
  );
  return queueUrl;
}

/** Hands each event of the people queue to `onEvent`, then deletes it. */
function pollPeople(sqs: SQSClient, queueUrl: string, onEvent: (event: PeopleEvent) => void) {
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        for (const message of Messages) {
          onEvent(JSON.parse(message.Body ?? '{}') as PeopleEvent);
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
        }
      } catch {
        if (running) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function readJson<T>(name: string): Promise<T> {
  return JSON.parse(await readFile(new URL(`./seed/${name}`, import.meta.url), 'utf8')) as T;
}

/** Starts everything and wires the handlers to it; `stop()` ends all of it. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const seed = await readJson<EmulatorOptions>('demo.json');
  const config = await readJson<StackConfig>('stack.json');
  const moto = await startMoto(options.motoPort ? { port: options.motoPort } : {});
  const cleanups: (() => Promise<void> | void)[] = [() => moto.stop()];
  try {
    const auth = options.auth ?? 'password';
    const emulator = await startEmulator({
      ...seed,
      stopDelayMs: config.stopDelayMs,
      port: options.emulatorPort ?? 0,
      // signed requests only, as a gateway that trusts nothing else would
      ...(auth === 'aksk' && { requireSignatures: true }),
    });
    cleanups.push(() => emulator.close());

    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.url,
      AWS_REGION: process.env.AWS_REGION ?? 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    const secrets = new SecretsManagerClient({});
    const sqs = new SQSClient({});
    await secrets.send(
      new CreateSecretCommand({
        Name: 'lf-job-stopper/local/huaweicloud-credentials',
        SecretString: JSON.stringify(localCredentials(seed, auth)),
      }),
    );
    await secrets.send(
      new CreateSecretCommand({
        Name: 'lf-job-stopper/local/webhook-keys',
        SecretString: JSON.stringify(config.webhook),
      }),
    );
    const ledgerTable = await createLedgerTable(new DynamoDBClient({}), 'lf-job-stopper-local-ledger');
    const { queueUrl, dlqUrl } = await createStopQueues(sqs, {
      name: 'lf-job-stopper-local-stop',
      visibilityTimeoutSeconds: 10,
    });
    const confirmQueue = await createStopQueues(sqs, {
      name: 'lf-job-stopper-local-confirm',
      visibilityTimeoutSeconds: 10,
    });
    const eventBusName = 'lf-job-stopper-local-events';
    const peopleQueueUrl = await peopleRule(sqs, eventBusName);

    // the functions' public URL (snooze links) is the server's: it listens before they are loaded
    const http: Partial<Pick<StackHandlers, HttpFunction>> = {};
    const server = await serveHttp(http, options.httpPort ?? 0);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    Object.assign(process.env, {
      LAKEFORMATION_ENDPOINT: emulator.url,
      HUAWEICLOUD_IAM_ENDPOINT: emulator.url,
      LAKEFORMATION_PROJECT_ID: seed.projectId,
      LAKEFORMATION_INSTANCE_ID: seed.instances[0],
      LAKEFORMATION_ALLOWED_INSTANCE_IDS: seed.instances.slice(1).join(','),
      HUAWEICLOUD_CREDENTIALS_SECRET_ID: 'lf-job-stopper/local/huaweicloud-credentials',
      WEBHOOK_SECRET_ID: 'lf-job-stopper/local/webhook-keys',
      STOP_QUEUE_URL: queueUrl,
      STOP_DLQ_URL: dlqUrl,
      STOP_LEDGER_TABLE: ledgerTable,
      STOP_CONFIRM_QUEUE_URL: confirmQueue.queueUrl,
      STOP_EVENT_BUS_NAME: eventBusName,
      CONFIRM_FIRST_CHECK_SECONDS: String(config.confirm.firstCheckSeconds),
      CONFIRM_WINDOW_SECONDS: String(config.confirm.windowSeconds),
      STALE_JOB_POLICY: JSON.stringify(config.policy),
      PUBLIC_BASE_URL: httpUrl,
    });

    const stopJob = (await import('../functions/stop-job.js')).handler as unknown as Handler<
      APIGatewayProxyEventV2,
      APIGatewayProxyStructuredResultV2
    >;
    const readStops = (await import('../functions/read-stops.js')).handler as unknown as HttpHandler;
    const bulkStop = (await import('../functions/bulk-stop.js')).handler as unknown as Handler<
      SQSEvent,
      SQSBatchResponse
    >;
    const reaper = (await import('../functions/stop-stale-jobs.js')).handler as unknown as Handler<
      ScheduledEvent,
      unknown
    >;

    const snoozeFunctions = await import('../functions/snooze-job.js');
    const snoozeJob = snoozeFunctions.handler as unknown as HttpHandler;
    const snoozeLink = snoozeFunctions.linkHandler as unknown as HttpHandler;
    Object.assign(http, { stopJob, readStops, snoozeJob, snoozeLink });

    const poller = startPoller({
      sqs,
      queueUrl,
      handler: bulkStop,
      waitTimeSeconds: 1,
      functionTimeoutMs: FUNCTION_TIMEOUTS_MS.bulkStop,
    });
    cleanups.push(() => poller.stop());
    const confirmStops = (await import('../functions/confirm-stops.js')).handler as unknown as Handler<
      SQSEvent,
      SQSBatchResponse
    >;
    const confirmPoller = startPoller({
      sqs,
      queueUrl: confirmQueue.queueUrl,
      handler: confirmStops,
      functionName: 'confirmStops',
      waitTimeSeconds: 1,
      functionTimeoutMs: FUNCTION_TIMEOUTS_MS.confirmStops,
    });
    cleanups.push(() => confirmPoller.stop());
    if (options.onPeopleEvent) {
      const people = pollPeople(sqs, peopleQueueUrl, options.onPeopleEvent);
      cleanups.push(() => people.stop());
    }

    const reap = () =>
      reaper(
        {
          version: '0',
          id: randomUUID(),
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          account: '000000000000',
          time: new Date().toISOString(),
          region: 'local',
          resources: [],
          detail: {},
        },
        lambdaContext('stopStaleJobs', FUNCTION_TIMEOUTS_MS.stopStaleJobs),
      ).catch((error: unknown) => error);
    const scheduleMs = options.scheduleMs ?? 60_000;
    if (scheduleMs > 0) {
      const first = setTimeout(reap, options.firstRunMs ?? 5_000);
      const timer = setInterval(reap, scheduleMs);
      cleanups.push(() => {
        clearTimeout(first);
        clearInterval(timer);
      });
    }

    let stopped = false;
    return {
      moto,
      emulator,
      httpUrl,
      queueUrl,
      dlqUrl,
      peopleQueueUrl,
      seed,
      config,
      auth,
      sqs,
      handlers: { stopJob, readStops, snoozeJob, snoozeLink, bulkStop, confirmStops, stopStaleJobs: reaper },
      reap,
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const cleanup of cleanups.reverse()) await cleanup();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup();
    throw error;
  }
}
