import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  type AnswerBody,
  type AnswerFault,
  DEFAULT_HUGE_BODY_BYTES,
  type Decision,
  FaultInjector,
  type FaultsConfig,
  type Target,
} from './faults.js';
import { verifySignature } from './signature.js';
import { type EmulatedStatus, type JobRecord, JobStore, type SeedJob, STATUSES, TYPES } from './store.js';

/**
 * A LakeFormation `lf-jobs` + IAM token emulator: a test double of this project's making, built from
 * Huawei's API pages. Where those pages are silent, the behaviour below is our choice, marked
 * "UNDOCUMENTED" and configurable, and the client must not depend on it.
 */

export interface EmulatorUser {
  name: string;
  password: string;
  domain: string;
}

/** An AK/SK pair the emulated gateway accepts signatures of (Huawei: an IAM user's access key). */
export interface EmulatorAccessKey {
  accessKey: string;
  secretKey: string;
  /** Temporary credentials: requests must carry it as `X-Security-Token`. */
  securityToken?: string;
}

/** Every LakeFormation call (and IAM's, when `iam`) fails this way until the outage is switched off. */
export interface Outage {
  /** @default 503 */
  status?: number;
  /** Reset the connection instead of answering. */
  reset?: boolean;
  /** IAM is down too. @default false */
  iam?: boolean;
}

/**
 * A token bucket in front of LakeFormation, as Huawei's API gateway throttles: past `perSecond`
 * calls per second (bursts up to `burst`), a call is answered 429 `APIG.0308`.
 */
export interface RateLimit {
  perSecond: number;
  /** @default perSecond */
  burst?: number;
  /** UNDOCUMENTED: Huawei documents no `Retry-After`; none is sent unless this is set. */
  retryAfterSeconds?: number;
}

export interface EmulatorSettings {
  /** Delay between an accepted stop and the job reading STOPPED. */
  stopDelayMs: number;
  /** The docs' tables say `status` is a string; their examples show `{"status": "..."}`. Both are served. */
  statusShape: 'string' | 'object';
  /** LakeFormation examples use milliseconds; IAM uses microseconds. */
  timestampPrecision: 'millis' | 'micros';
  /** Latency added to every LakeFormation answer. */
  latencyMs: number;
  /** Lifetime of issued tokens (Huawei: 24 h). */
  tokenTtlMs: number;
  /**
   * UNDOCUMENTED: what stopping a job that is not RUNNING/SUBMITTED returns. `refuse` answers with
   * `refusal`; `accept` answers 202 and changes nothing.
   */
  stopNotRunning: 'refuse' | 'accept';
  /** UNDOCUMENTED: the refusal of a stop (not running, or FROZEN_*). */
  refusal: { status: number; error_code: string; error_msg: string };
  /**
   * CONTRADICTORY: a missing job (or unknown project/instance). The lf-jobs pages show 404
   * `common.01000001`; the error-code table lists 400 `00000005` "The resource was not found".
   */
  missingJob: { status: number; error_code: string; error_msg: string };
  /**
   * CONTRADICTORY: a missing, expired or invalid token. The API pages show 401 `APIG.1002` from the
   * gateway; the error-code table also lists 400 `00000015` "invalid token".
   */
  tokenRefusal: { status: number; error_code: string; error_msg: string };
  /**
   * CONTRADICTORY: the Show page's table lists `start_time`, its example shows no timestamps at all.
   * `false` leaves `start_time` out of Show answers (List answers keep it).
   */
  showStartTime: boolean;
  /** Refuse token-authenticated LakeFormation calls: only AK/SK signatures are accepted. */
  requireSignatures: boolean;
  /** An outage in progress, or none. */
  outage: Outage | null;
  /** Throttling, or none. */
  rateLimit: RateLimit | null;
}

export interface EmulatorOptions extends Partial<EmulatorSettings> {
  /** @default 0 (a free port) */
  port?: number;
  projectId: string;
  instances: string[];
  users: EmulatorUser[];
  /** Access keys whose signatures the emulated gateway accepts. */
  accessKeys?: EmulatorAccessKey[];
  jobs?: (SeedJob & { instanceId?: string })[];
  faults?: FaultsConfig;
  now?: () => number;
}

export interface RequestLogEntry {
  seq: number;
  at: string;
  method: string;
  path: string;
  query: string;
  status: number;
  target: Target | 'admin';
  /** Which client operation this was, by route. */
  operation: string;
  fault?: string;
  /** For a fault's answer with a body: the body's size in bytes (a huge one counts in full). */
  bodyBytes?: number;
  jobId?: string;
}

interface IssuedToken {
  projectId: string;
  expiresAt: number;
  user: string;
}

const DEFAULTS: EmulatorSettings = {
  stopDelayMs: 2_000,
  statusShape: 'string',
  timestampPrecision: 'millis',
  latencyMs: 0,
  tokenTtlMs: 24 * 3600_000,
  stopNotRunning: 'refuse',
  refusal: {
    status: 400,
    error_code: 'common.01000001',
    error_msg: 'job is not in a state that can be stopped (emulator: Huawei does not document this answer)',
  },
  missingJob: {
    status: 404,
    error_code: 'common.01000001',
    error_msg: 'response status exception, code: 404',
  },
  showStartTime: true,
  tokenRefusal: {
    status: 401,
    error_code: 'APIG.1002',
    error_msg: 'Incorrect token or token resolution failed',
  },
  requireSignatures: false,
  outage: null,
  rateLimit: null,
};

const NOT_RUNNING: ReadonlySet<string> = new Set([
  'CREATED',
  'SUCCESS',
  'FAILED',
  'STOPPED',
  'PARTIAL_SUCCESS',
]);

/** The documented error bodies (valid JSON: the docs print the 401 one with single quotes). */
const BODIES = {
  badRequest: (reason: string) => ({
    error_code: 'common.01000001',
    error_msg: `failed to read http request, please check your input, code: 400, reason: ${reason}`,
  }),
  forbidden: (message: string) => ({
    error: { code: '403', message, error_code: null, error_msg: null, title: 'Forbidden' },
    error_code: '403',
    error_msg: message,
    title: 'Forbidden',
  }),
  timeout: { error_code: 'common.00000408', error_msg: 'timeout exception occurred' },
  throttled: {
    error_code: 'APIG.0308',
    error_msg: 'The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 second',
  },
  internal: { error_code: 'common.00000500', error_msg: 'internal error' },
  unavailable: { error_code: 'common.00000503', error_msg: 'service unavailable' },
  noApi: {
    error_code: 'APIG.0101',
    error_msg: 'The API does not exist or has not been published in the environment',
  },
};

/** The answers of the wrong-success and echo faults (see `FaultKind`). */
const FAULT_BODIES = {
  html:
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Service temporarily unavailable</title></head>' +
    '<body><h1>Service temporarily unavailable</h1><p>The service is under maintenance. Please try again later.</p>' +
    '</body></html>\n',
  json: { result: 'ok' },
  jsonError: BODIES.internal,
  invalidJson: '{"error_code": "common.00000500", "error_msg": "inter',
};

const ANSWER_FAULTS: ReadonlySet<string> = new Set<AnswerFault>([
  '200-html',
  '200-json-error',
  '200-invalid-json',
  '204',
  'echo-token',
  'echo-token-text',
  'huge-body',
  'answer',
]);

/** A huge body is written in chunks of this size, all views of one buffer. */
const HUGE_CHUNK = Buffer.alloc(64 * 1024, 'x');

/** Statuses whose answers never carry a body (HTTP semantics; Node drops what is written). */
const NO_BODY: ReadonlySet<number> = new Set([204, 304]);

const JOBS_PATH = /^\/v1\/([^/]+)\/instances\/([^/]+)\/lf-jobs(?:\/([^/]+)(?:\/(stop|start))?)?$/;

function formatTime(ms: number, precision: EmulatorSettings['timestampPrecision']): string {
  const iso = new Date(ms).toISOString();
  return precision === 'micros' ? iso.replace(/\.(\d{3})Z$/, '.$1000Z') : iso;
}

/** `name_pattern`: UNDOCUMENTED beyond "wildcard of the task name"; `*`/`?` are globs, else a substring. */
function nameMatcher(pattern: string): (name: string) => boolean {
  if (!/[*?]/.test(pattern)) return (name) => name.toLowerCase().includes(pattern.toLowerCase());
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  const regex = new RegExp(`^${source}$`, 'i');
  return (name) => regex.test(name);
}

export class LakeFormationEmulator {
  readonly settings: EmulatorSettings;
  readonly store: JobStore;
  readonly faults = new FaultInjector();
  readonly requests: RequestLogEntry[] = [];
  readonly projectId: string;
  readonly instances: string[];
  private readonly users: EmulatorUser[];
  private readonly accessKeys: Map<string, EmulatorAccessKey>;
  private readonly tokens = new Map<string, IssuedToken>();
  /** The rate limiter's bucket: tokens left, and when it was last filled. */
  private bucket = { tokens: Number.NaN, at: 0 };
  /** Answers given by the outage, the rate limiter and the signature check (for `/_admin/stats`). */
  readonly counters = { outage: 0, rateLimited: 0, signed: 0, signatureRefused: 0 };
  private readonly now: () => number;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private seq = 0;
  private readonly initialSettings: EmulatorSettings;
  /** IAM tokens issued so far. */
  tokensIssued = 0;
  url = '';

  constructor(options: EmulatorOptions) {
    const { port: _port, projectId, instances, users, accessKeys, jobs, faults, now, ...settings } = options;
    // copies: nested settings changed on one emulator must not reach the defaults of the next
    this.settings = structuredClone({ ...DEFAULTS, ...settings });
    this.initialSettings = structuredClone(this.settings);
    this.projectId = projectId;
    this.instances = instances;
    this.users = users;
    this.accessKeys = new Map((accessKeys ?? []).map((key) => [key.accessKey, key]));
    this.now = now ?? Date.now;
    this.store = new JobStore(this.now, this.settings.stopDelayMs);
    for (const instanceId of instances) this.store.addInstance(instanceId);
    for (const job of jobs ?? []) this.store.add(job.instanceId ?? this.firstInstance(), job);
    if (faults) this.faults.configure(faults);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.send(res, 500, { error_code: 'EMULATOR', error_msg: String(error) });
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts listening on 127.0.0.1 and resolves with the base URL. */
  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  update(settings: Partial<EmulatorSettings>): void {
    Object.assign(this.settings, settings);
    this.store.stopDelayMs = this.settings.stopDelayMs;
    if ('rateLimit' in settings) this.bucket = { tokens: Number.NaN, at: 0 };
  }

  /** Adds (or replaces) access keys the emulated gateway accepts signatures of. */
  addAccessKeys(keys: readonly EmulatorAccessKey[]): void {
    for (const key of keys) this.accessKeys.set(key.accessKey, key);
  }

  /** Whether the rate limiter lets one more LakeFormation call through now (and takes its token). */
  private admit(limit: RateLimit): boolean {
    const burst = limit.burst ?? limit.perSecond;
    const now = this.now();
    const refilled = Number.isNaN(this.bucket.tokens)
      ? burst
      : Math.min(burst, this.bucket.tokens + ((now - this.bucket.at) / 1000) * limit.perSecond);
    this.bucket = { tokens: refilled, at: now };
    if (refilled < 1) return false;
    this.bucket.tokens = refilled - 1;
    return true;
  }

  /** Back to the settings the emulator was created with (between tests). */
  restoreSettings(): void {
    this.update(structuredClone(this.initialSettings));
  }

  /** Token expiry: every token issued so far stops working (LakeFormation answers 401). */
  expireTokens(): void {
    for (const token of this.tokens.values()) token.expiresAt = Math.min(token.expiresAt, this.now() - 1);
  }

  /** Requests of the log matching `filter`, e.g. `{ operation: 'stopJob' }`. */
  requestsWhere(filter: Partial<RequestLogEntry>): RequestLogEntry[] {
    return this.requests.filter((entry) =>
      Object.entries(filter).every(([key, value]) => entry[key as keyof RequestLogEntry] === value),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    if (url.pathname.startsWith('/_admin/')) return this.admin(method, url, body, res);

    const target: Target = url.pathname === '/v3/auth/tokens' ? 'iam' : 'lakeformation';
    const match = JOBS_PATH.exec(url.pathname);
    const operation =
      target === 'iam'
        ? 'issueToken'
        : !match
          ? 'unknown'
          : match[4]
            ? `${match[4]}Job`
            : match[3]
              ? 'getJob'
              : 'listJobs';
    const log: RequestLogEntry = {
      seq: ++this.seq,
      at: new Date(this.now()).toISOString(),
      method,
      path: url.pathname,
      query: url.search,
      status: 0,
      target,
      operation,
    };
    if (match?.[3]) log.jobId = decodeURIComponent(match[3]);
    this.requests.push(log);

    const outage = this.settings.outage;
    if (outage && (target === 'lakeformation' || outage.iam === true)) {
      this.counters.outage += 1;
      log.fault = 'outage';
      if (outage.reset) {
        req.socket.destroy();
        return;
      }
      const status = outage.status ?? 503;
      return this.reply(res, log, status, status === 500 ? BODIES.internal : BODIES.unavailable);
    }
    const limit = this.settings.rateLimit;
    if (limit && target === 'lakeformation' && !this.admit(limit)) {
      this.counters.rateLimited += 1;
      log.fault = 'rate-limit';
      log.status = 429;
      return this.send(res, 429, throttledBody(limit), {
        ...(limit.retryAfterSeconds !== undefined && { 'Retry-After': String(limit.retryAfterSeconds) }),
      });
    }

    const decision = this.faults.decide(method, url.pathname, target);
    const latency = (target === 'lakeformation' ? this.settings.latencyMs : 0) + decision.extraLatencyMs;
    if (latency > 0) await sleep(latency);
    if (decision.fault) {
      log.fault = decision.fault;
      switch (decision.fault) {
        case 'reset':
          req.socket.destroy();
          return;
        case 'hang':
          return; // never answered; the socket is destroyed on close()
        case '408':
          return this.reply(res, log, 408, BODIES.timeout);
        case '429':
          return this.reply(res, log, 429, BODIES.throttled);
        case '500':
          return this.reply(res, log, 500, BODIES.internal);
        case '503':
          return this.reply(res, log, 503, BODIES.unavailable);
        default:
          // an unknown kind (a typo in a script) is logged and answered normally, as it always was
          if (ANSWER_FAULTS.has(decision.fault)) {
            return this.answerFault(
              decision.fault as AnswerFault,
              decision,
              { req, body, target, operation },
              res,
              log,
            );
          }
      }
    }
    if (target === 'iam') {
      if (method !== 'POST')
        return this.reply(res, log, 405, { error: { code: 405, message: 'Method Not Allowed' } });
      return this.issueToken(body, res, log);
    }
    if (!match) return this.reply(res, log, 404, BODIES.noApi);
    const [, projectId = '', instanceId = '', jobId, action] = match.map(
      (part) => part && decodeURIComponent(part),
    );
    const expected = action ? 'POST' : 'GET';
    if (method !== expected) return this.reply(res, log, 404, BODIES.noApi);

    const authorization = req.headers.authorization;
    if (typeof authorization === 'string' && /^SDK-HMAC-SHA256\s/i.test(authorization)) {
      const refusal = this.checkSignature(req, url, body, projectId);
      if (refusal) {
        this.counters.signatureRefused += 1;
        return this.reply(res, log, refusal.status, refusal.body);
      }
      this.counters.signed += 1;
    } else {
      if (this.settings.requireSignatures) {
        this.counters.signatureRefused += 1;
        return this.reply(res, log, 401, {
          error_code: 'APIG.0301',
          error_msg: 'Incorrect IAM authentication information: this gateway accepts AK/SK signatures only',
        });
      }
      const token = req.headers['x-auth-token'];
      const issued = typeof token === 'string' ? this.tokens.get(token) : undefined;
      if (!issued || issued.expiresAt <= this.now()) {
        const { status: refusalStatus, ...refusal } = this.settings.tokenRefusal;
        return this.reply(res, log, refusalStatus, refusal);
      }
      if (issued.projectId !== projectId) {
        return this.reply(res, log, 403, BODIES.forbidden('X-Auth-Token is invalid in the request'));
      }
    }
    const { status: missingStatus, ...missingBody } = this.settings.missingJob;
    // UNDOCUMENTED: an unknown project or instance; we answer like a missing job.
    if (projectId !== this.projectId || !this.store.hasInstance(instanceId)) {
      return this.reply(res, log, missingStatus, missingBody);
    }
    if (jobId === undefined) return this.listJobs(instanceId, url.searchParams, res, log);
    const job = this.store.get(instanceId, jobId);
    if (!job) return this.reply(res, log, missingStatus, missingBody);
    if (!action) return this.reply(res, log, 200, this.render(job, 'show'));
    if (action === 'start') return this.startJob(job, res, log);
    return this.stopJob(job, res, log);
  }

  /**
   * An AK/SK-signed request, checked as the gateway would ({@link verifySignature}): the signature,
   * the date within 15 minutes, the security token of temporary credentials, and the project
   * (`X-Project-Id`, UNDOCUMENTED beyond the SDKs sending it: we refuse another project's like a token of
   * another project, 403). Returns the refusal, or nothing when the request may go on.
   */
  private checkSignature(
    req: IncomingMessage,
    url: URL,
    body: string,
    projectId: string,
  ): { status: number; body: unknown } | undefined {
    const verdict = verifySignature({
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      query: url.search,
      headers: req.headers,
      body,
      secretKeyFor: (accessKey) => this.accessKeys.get(accessKey)?.secretKey,
      now: new Date(this.now()),
    });
    if (!verdict.ok)
      return { status: verdict.status, body: { error_code: verdict.code, error_msg: verdict.reason } };
    const key = this.accessKeys.get(verdict.accessKey);
    if (key?.securityToken !== undefined && verdict.securityToken !== key.securityToken) {
      return {
        status: 401,
        body: {
          error_code: 'APIG.0301',
          error_msg: 'Incorrect IAM authentication information: the security token is missing or wrong',
        },
      };
    }
    if (verdict.projectId !== undefined && verdict.projectId !== projectId) {
      return {
        status: 403,
        body: BODIES.forbidden('X-Project-Id does not match the project of the request'),
      };
    }
    return undefined;
  }

  /**
   * Start (202, empty body, as documented): a new run of the same job, with a new `start_time`.
   * The `mode` and `cascade` query parameters are ignored. UNDOCUMENTED: starting a job that is
   * running or frozen; we refuse it with a 400.
   */
  private startJob(job: JobRecord, res: ServerResponse, log: RequestLogEntry) {
    if (!NOT_RUNNING.has(job.status)) {
      return this.reply(res, log, 400, {
        error_code: 'common.01000001',
        error_msg: `job cannot be started while ${job.status} (emulator: Huawei does not document this answer)`,
      });
    }
    this.store.start(job);
    return this.reply(res, log, 202, undefined);
  }

  private stopJob(job: JobRecord, res: ServerResponse, log: RequestLogEntry) {
    // UNDOCUMENTED: a second stop while the first is pending is accepted again (a stop is a signal).
    if (job.status === 'RUNNING' || job.status === 'SUBMITTED') {
      this.store.requestStop(job);
      return this.reply(res, log, 202, undefined);
    }
    if (NOT_RUNNING.has(job.status) && this.settings.stopNotRunning === 'accept') {
      return this.reply(res, log, 202, undefined);
    }
    const { status, ...body } = this.settings.refusal;
    return this.reply(res, log, status, body);
  }

  private listJobs(instanceId: string, query: URLSearchParams, res: ServerResponse, log: RequestLogEntry) {
    const type = query.get('type');
    if (type === null || !(TYPES as readonly string[]).includes(type)) {
      return this.reply(res, log, 400, BODIES.badRequest('type is required and must be a job type'));
    }
    const status = query.get('status');
    if (status !== null && !(STATUSES as readonly string[]).includes(status)) {
      return this.reply(res, log, 400, BODIES.badRequest('Type mismatch.'));
    }
    // The docs mark offset and limit as required but also give defaults (0 and 10); we apply the defaults.
    const offset = integer(query.get('offset'), 0);
    const limit = integer(query.get('limit'), 10);
    if (offset === undefined || offset < 0 || offset > 1000) {
      return this.reply(res, log, 400, BODIES.badRequest('offset must be between 0 and 1000'));
    }
    if (limit === undefined || limit < 1 || limit > 1000) {
      return this.reply(res, log, 400, BODIES.badRequest('limit must be between 1 and 1000'));
    }
    const pattern = query.get('name_pattern');
    const matches = pattern ? nameMatcher(pattern) : () => true;
    const jobs = this.store
      .list(instanceId)
      .filter((job) => job.type === type && (status === null || job.status === status) && matches(job.name));
    return this.reply(res, log, 200, {
      total: jobs.length,
      jobs: jobs.slice(offset, offset + limit).map((job) => this.render(job, 'list')),
    });
  }

  private issueToken(body: string, res: ServerResponse, log: RequestLogEntry) {
    const signIn = this.signIn(body);
    if ('refusal' in signIn) return this.reply(res, log, signIn.refusal.status, signIn.refusal.body);
    log.status = 201;
    res.writeHead(201, { 'Content-Type': 'application/json', 'X-Subject-Token': signIn.token });
    res.end(JSON.stringify(signIn.document));
  }

  /** Checks an IAM password sign-in and, when it is good, issues a token. */
  private signIn(
    body: string,
  ): { token: string; document: Record<string, unknown> } | { refusal: { status: number; body: unknown } } {
    let request: unknown;
    try {
      request = JSON.parse(body);
    } catch {
      return {
        refusal: {
          status: 400,
          body: { error: { code: 400, message: 'The request body is not JSON', title: 'Bad Request' } },
        },
      };
    }
    const auth = (request as { auth?: Record<string, unknown> })?.auth;
    const identity = auth?.identity as
      | { methods?: unknown; password?: { user?: Record<string, unknown> } }
      | undefined;
    const user = identity?.password?.user;
    const domain = (user?.domain as { name?: unknown } | undefined)?.name;
    const scopeProject = (auth?.scope as { project?: { id?: unknown } } | undefined)?.project?.id;
    if (
      !Array.isArray(identity?.methods) ||
      !identity.methods.includes('password') ||
      typeof user?.name !== 'string' ||
      typeof user.password !== 'string' ||
      typeof domain !== 'string' ||
      typeof scopeProject !== 'string'
    ) {
      return {
        refusal: {
          status: 400,
          body: { error: { code: 400, message: 'The request body is invalid', title: 'Bad Request' } },
        },
      };
    }
    const known = this.users.find(
      (u) => u.name === user.name && u.password === user.password && u.domain === domain,
    );
    if (!known) {
      return {
        refusal: {
          status: 401,
          body: {
            error: { code: 401, message: 'The username or password is wrong.', title: 'Unauthorized' },
          },
        },
      };
    }
    const token = `MIIemu${randomBytes(24).toString('hex')}`;
    const issuedAt = this.now();
    const expiresAt = issuedAt + this.settings.tokenTtlMs;
    this.tokens.set(token, { projectId: scopeProject, expiresAt, user: known.name });
    this.tokensIssued += 1;
    return {
      token,
      document: {
        token: {
          expires_at: formatTime(expiresAt, 'micros'),
          issued_at: formatTime(issuedAt, 'micros'),
          methods: ['password'],
          project: { id: scopeProject, name: 'emulated-region', domain: { name: domain } },
          user: { name: known.name, domain: { name: domain } },
        },
      },
    };
  }

  /**
   * The answer of a fault that has one (see `FaultKind`): a wrong success, an echo of the request's
   * credentials, a huge body or any status with any body. No job is changed.
   */
  private answerFault(
    fault: AnswerFault,
    decision: Decision,
    request: { req: IncomingMessage; body: string; target: Target; operation: string },
    res: ServerResponse,
    log: RequestLogEntry,
  ): Promise<void> | void {
    const shapes: Record<AnswerFault, [number | undefined, AnswerBody]> = {
      '200-html': [200, 'html'],
      '200-json-error': [200, 'json-error'],
      '200-invalid-json': [200, 'invalid-json'],
      '204': [204, 'empty'],
      'echo-token': [decision.status ?? 400, 'echo-token'],
      'echo-token-text': [decision.status ?? 400, 'echo-token-text'],
      'huge-body': [decision.status, 'huge'],
      answer: [decision.status, decision.body ?? 'empty'],
    };
    const [wanted, shape] = shapes[fault];
    const status =
      wanted ??
      (shape === 'huge'
        ? request.target === 'iam'
          ? 201
          : request.operation === 'stopJob' || request.operation === 'startJob'
            ? 202
            : 200
        : undefined);
    if (status === undefined || !Number.isInteger(status) || status < 200 || status > 599) {
      return this.reply(res, log, 500, {
        error_code: 'EMULATOR',
        error_msg: `fault ${fault}: status must be an integer from 200 to 599, got ${String(status)}`,
      });
    }
    if (NO_BODY.has(status) || shape === 'empty') return this.reply(res, log, status, undefined);
    const echoed = request.target === 'iam' ? request.body : credentialHeader(request.req);
    switch (shape) {
      case 'json':
        return this.replyText(res, log, status, 'application/json', JSON.stringify(FAULT_BODIES.json));
      case 'json-error':
        return this.replyText(res, log, status, 'application/json', JSON.stringify(FAULT_BODIES.jsonError));
      case 'html':
        return this.replyText(res, log, status, 'text/html; charset=utf-8', FAULT_BODIES.html);
      case 'invalid-json':
        return this.replyText(res, log, status, 'application/json', FAULT_BODIES.invalidJson);
      case 'echo-token': {
        // IAM errors are nested under `error`; LakeFormation's are flat.
        const document =
          request.target === 'iam'
            ? {
                error: {
                  code: status,
                  message: `The request body is invalid: ${echoed}`,
                  title: 'Bad Request',
                },
              }
            : BODIES.badRequest(`invalid header X-Auth-Token: ${echoed}`);
        return this.replyText(res, log, status, 'application/json', JSON.stringify(document));
      }
      case 'echo-token-text': {
        const text =
          request.target === 'iam'
            ? `Bad Request: cannot process the request body ${echoed}\n`
            : `Bad Request: invalid header X-Auth-Token: ${echoed}\n`;
        return this.replyText(res, log, status, 'text/plain; charset=utf-8', text);
      }
      case 'huge': {
        const size = Math.max(0, Math.floor(decision.bodyBytes ?? DEFAULT_HUGE_BODY_BYTES));
        let prefix = '{"padding":"';
        const headers: Record<string, string> = { 'Content-Type': 'application/json' };
        if (request.target === 'iam') {
          // a real sign-in, only too big: a usable token, the normal document padded
          const signIn = this.signIn(request.body);
          if ('refusal' in signIn) return this.reply(res, log, signIn.refusal.status, signIn.refusal.body);
          headers['X-Subject-Token'] = signIn.token;
          prefix = `${JSON.stringify(signIn.document).slice(0, -1)},"padding":"`;
        }
        return this.stream(res, log, status, headers, { prefix, suffix: '"}', size }, decision.chunked);
      }
    }
  }

  /** A fault's answer with a body given as text (it may be no valid JSON). */
  private replyText(
    res: ServerResponse,
    log: RequestLogEntry,
    status: number,
    contentType: string,
    text: string,
  ): void {
    log.status = status;
    log.bodyBytes = Buffer.byteLength(text);
    res.writeHead(status, { 'X-request-id': randomBytes(16).toString('hex'), 'Content-Type': contentType });
    res.end(text);
  }

  /**
   * Writes a body of exactly `size` bytes (`prefix`, padding, `suffix`; padding only when the two do
   * not fit) in {@link HUGE_CHUNK}s, waiting for the client to read each: the emulator never holds
   * more than one chunk, and stops writing as soon as the client goes away.
   */
  private async stream(
    res: ServerResponse,
    log: RequestLogEntry,
    status: number,
    headers: Record<string, string>,
    body: { prefix: string; suffix: string; size: number },
    chunked = false,
  ): Promise<void> {
    let head = Buffer.from(body.prefix);
    let tail = Buffer.from(body.suffix);
    if (head.length + tail.length > body.size) {
      head = Buffer.alloc(0);
      tail = Buffer.alloc(0);
    }
    log.status = status;
    log.bodyBytes = body.size;
    res.writeHead(status, {
      'X-request-id': randomBytes(16).toString('hex'),
      ...headers,
      ...(!chunked && { 'Content-Length': String(body.size) }),
    });
    // a client that stops reading and closes the connection must not crash the emulator
    res.on('error', () => {});
    let closed = false;
    res.once('close', () => {
      closed = true;
    });
    const write = async (chunk: Buffer) => {
      if (closed || res.destroyed) return;
      if (!res.write(chunk)) await drainedOrClosed(res);
    };
    await write(head);
    for (let left = body.size - head.length - tail.length; left > 0 && !closed; left -= HUGE_CHUNK.length) {
      await write(left >= HUGE_CHUNK.length ? HUGE_CHUNK : HUGE_CHUNK.subarray(0, left));
    }
    if (!closed && !res.destroyed) res.end(tail);
  }

  private render(job: JobRecord, view: 'show' | 'list'): Record<string, unknown> {
    const precision = this.settings.timestampPrecision;
    const out: Record<string, unknown> = {
      id: job.id,
      name: job.name,
      type: job.type,
      create_time: formatTime(job.createTime, precision),
      status: this.settings.statusShape === 'object' ? { status: job.status } : job.status,
    };
    if (job.startTime !== undefined && (view === 'list' || this.settings.showStartTime)) {
      out.start_time = formatTime(job.startTime, precision);
    }
    if (view === 'list') {
      if (job.endTime !== undefined) out.end_time = formatTime(job.endTime, precision);
      if (job.startTime !== undefined) {
        out.execute_time = Math.max(0, Math.floor(((job.endTime ?? this.now()) - job.startTime) / 1000));
      }
    }
    return out;
  }

  private admin(method: string, url: URL, body: string, res: ServerResponse) {
    const route = `${method} ${url.pathname}`;
    const input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    switch (route) {
      case 'GET /_admin/health':
        return this.send(res, 200, { ok: true, projectId: this.projectId });
      case 'GET /_admin/jobs':
        return this.send(res, 200, { jobs: this.store.all() });
      case 'POST /_admin/jobs': {
        const instanceId = typeof input.instanceId === 'string' ? input.instanceId : undefined;
        const added = ((input.jobs as SeedJob[]) ?? []).map((job) =>
          this.store.add(
            instanceId ?? (job as { instanceId?: string }).instanceId ?? this.firstInstance(),
            job,
          ),
        );
        return this.send(res, 201, { jobs: added });
      }
      case 'DELETE /_admin/jobs':
        this.store.clear();
        return this.send(res, 200, {});
      case 'PUT /_admin/faults':
        this.faults.configure(input as FaultsConfig);
        return this.send(res, 200, {});
      case 'DELETE /_admin/faults':
        this.faults.clear();
        return this.send(res, 200, {});
      case 'POST /_admin/tokens/expire':
        this.expireTokens();
        return this.send(res, 200, {});
      case 'PATCH /_admin/settings':
        this.update(input as Partial<EmulatorSettings>);
        return this.send(res, 200, this.settings);
      case 'GET /_admin/requests': {
        const since = Number(url.searchParams.get('since') ?? 0);
        return this.send(res, 200, { requests: this.requests.filter((entry) => entry.seq > since) });
      }
      case 'DELETE /_admin/requests':
        this.requests.length = 0;
        return this.send(res, 200, {});
      case 'GET /_admin/stats':
        return this.send(res, 200, {
          tokensIssued: this.tokensIssued,
          faultsInjected: this.faults.injected,
          requests: this.requests.length,
          ...this.counters,
        });
      case 'PUT /_admin/outage':
        this.update({ outage: input as Outage });
        return this.send(res, 200, { outage: this.settings.outage });
      case 'DELETE /_admin/outage':
        this.update({ outage: null });
        return this.send(res, 200, { outage: null });
      case 'PUT /_admin/rate-limit': {
        const perSecond = input.perSecond;
        if (typeof perSecond !== 'number' || !(perSecond > 0)) {
          return this.send(res, 400, { error: 'perSecond must be a number above 0' });
        }
        this.update({ rateLimit: input as unknown as RateLimit });
        return this.send(res, 200, { rateLimit: this.settings.rateLimit });
      }
      case 'DELETE /_admin/rate-limit':
        this.update({ rateLimit: null });
        return this.send(res, 200, { rateLimit: null });
      case 'PUT /_admin/access-keys':
        this.addAccessKeys((input.accessKeys as EmulatorAccessKey[] | undefined) ?? []);
        return this.send(res, 200, { accessKeys: [...this.accessKeys.keys()] });
      default:
        return this.send(res, 404, { error: `no admin route ${route}` });
    }
  }

  private firstInstance(): string {
    return this.instances[0] ?? 'default';
  }

  private reply(res: ServerResponse, log: RequestLogEntry, status: number, body: unknown): void {
    log.status = status;
    this.send(res, status, body);
  }

  private send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
    // the emulator's own clock (tests may move it), as a gateway's Date header gives its clock
    const headers: Record<string, string> = {
      'X-request-id': randomBytes(16).toString('hex'),
      Date: new Date(this.now()).toUTCString(),
      ...extra,
    };
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    headers['Content-Type'] = 'application/json';
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  }
}

/** Huawei's throttling answer, with the limit the emulator applies. */
function throttledBody(limit: RateLimit) {
  return {
    error_code: 'APIG.0308',
    error_msg: `The throttling threshold has been reached: policy user over ratelimit,limit:${limit.perSecond},time:1 second`,
  };
}

function integer(raw: string | null, fallback: number): number | undefined {
  if (raw === null || raw === '') return fallback;
  return /^-?\d+$/.test(raw) ? Number(raw) : undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The credential a LakeFormation request carries, verbatim: its token, else its signature. */
function credentialHeader(req: IncomingMessage): string {
  const value = req.headers['x-auth-token'] ?? req.headers['x-security-token'] ?? req.headers.authorization;
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** Resolves once `res` can take more data, or is closed. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Creates and starts an emulator. */
export async function startEmulator(options: EmulatorOptions): Promise<LakeFormationEmulator> {
  const emulator = new LakeFormationEmulator(options);
  await emulator.listen(options.port ?? 0);
  return emulator;
}

export type { EmulatedStatus };
