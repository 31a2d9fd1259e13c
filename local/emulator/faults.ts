/**
 * Fault injection for the emulator: a script of faults consumed in order by matching requests, and
 * seeded random faults (the same seed gives the same sequence, so a failing run can be replayed).
 */

/**
 * What a fault does to a request, instead of the normal answer (or, for `latency`, before it). Every
 * kind but `latency` and `hang` is logged in the request log's `fault`; the answers below change no
 * job (a `200-html` to a stop stops nothing).
 *
 * Transport and error faults:
 * - `408`, `429`, `500`, `503`: the documented error body of that status (`429` is `APIG.0308`).
 * - `reset`: the connection is destroyed without an answer.
 * - `hang`: never answered (the socket is destroyed when the emulator closes).
 * - `latency`: `latencyMs` (default 1000) added before the normal answer.
 *
 * Wrong successes (untrusted-answer tests: only a 202 accepts a stop, IAM issues with a 201):
 * - `200-html`: 200 with an HTML page (`text/html`), as a gateway or WAF page would be.
 * - `200-json-error`: 200 with a JSON error body (`{"error_code","error_msg"}`).
 * - `200-invalid-json`: 200, `application/json`, with a body cut off mid-document.
 * - `204`: 204 with no body.
 *
 * Echoes (secret-leak tests), status `status` (default 400):
 * - `echo-token`: a JSON error whose `error_msg` quotes the request's `X-Auth-Token` header verbatim
 *   (`X-Security-Token` or `Authorization` when it has none); on IAM, which gets no token, it quotes
 *   the request body verbatim, IAM password included.
 * - `echo-token-text`: the same quote in a `text/plain` body that is not JSON.
 *
 * Size (bounded-read tests):
 * - `huge-body`: a body of exactly `bodyBytes` bytes (default {@link DEFAULT_HUGE_BODY_BYTES}), a JSON
 *   object padded to that size, streamed in 64 KiB chunks so the emulator never holds it. Status
 *   `status`, by default 202 for a stop or start, 200 for other LakeFormation calls, and 201 for IAM,
 *   where the answer is a real sign-in (a usable token in `X-Subject-Token`) whose body is padded.
 *   `chunked: true` sends it without `Content-Length`.
 *
 * Any answer (scripted only):
 * - `answer`: status `status` (required, 200-599) with the body `body` (an {@link AnswerBody},
 *   default `empty`), e.g. `{"fault":"answer","status":302,"body":"html"}`; `body: "huge"` takes
 *   `bodyBytes` and `chunked` as `huge-body` does. A 204 or 304 never has a body.
 */
export type FaultKind =
  | '408'
  | '429'
  | '500'
  | '503'
  | 'reset'
  | 'hang'
  | 'latency'
  | '200-html'
  | '200-json-error'
  | '200-invalid-json'
  | '204'
  | 'echo-token'
  | 'echo-token-text'
  | 'huge-body'
  | 'answer';

/**
 * Bodies of the `answer` fault: `empty`; `json` (an object that is no error: `{"result":"ok"}`);
 * `json-error`, `html`, `invalid-json`, `echo-token`, `echo-token-text` and `huge` as the fault kinds
 * of those names describe them.
 */
export type AnswerBody =
  | 'empty'
  | 'json'
  | 'json-error'
  | 'html'
  | 'invalid-json'
  | 'echo-token'
  | 'echo-token-text'
  | 'huge';

/** Size of a `huge-body` answer unless the fault says otherwise: 8 MiB. */
export const DEFAULT_HUGE_BODY_BYTES = 8 * 1024 * 1024;

/** Faults with an answer of their own (the others destroy, delay or leave the request). */
export type AnswerFault = Exclude<FaultKind, '408' | '429' | '500' | '503' | 'reset' | 'hang' | 'latency'>;

export interface ScriptedFault {
  fault: FaultKind;
  /** For `latency`: the delay added before the normal answer. */
  latencyMs?: number;
  /** For `answer` (required), `echo-token`, `echo-token-text` and `huge-body`: the HTTP status. */
  status?: number;
  /** For `answer`: the body. @default 'empty' */
  body?: AnswerBody;
  /** For `huge-body` and an `answer` with a `huge` body: the body's size. @default 8 MiB */
  bodyBytes?: number;
  /** For `huge-body` and an `answer` with a `huge` body: no `Content-Length`, chunked encoding. */
  chunked?: boolean;
  /** How many matching requests this entry applies to. @default 1 */
  times?: number;
  /** Only requests that match: method, and a substring of the path (e.g. `/stop`). */
  match?: { method?: string; path?: string; target?: Target };
}

export interface RandomFaults {
  seed: number;
  /**
   * Probability per request of each fault, e.g. `{"429": 0.05, "reset": 0.02, "200-html": 0.01}`.
   * Echoes answer with their default status.
   */
  rates: Partial<Record<Exclude<FaultKind, 'latency' | 'hang' | 'answer'>, number>>;
  /** Probability of a latency spike and its size. */
  latencySpike?: { rate: number; ms: number };
  /** Size of a randomly injected `huge-body`. @default 8 MiB */
  hugeBodyBytes?: number;
  /** Which API gets the faults. @default 'lakeformation' */
  target?: Target;
}

export type Target = 'lakeformation' | 'iam';

export interface FaultsConfig {
  script?: ScriptedFault[];
  random?: RandomFaults;
}

export interface Decision {
  fault?: Exclude<FaultKind, 'latency'>;
  extraLatencyMs: number;
  /** For answer faults: the status the fault asks for, when it names one. */
  status?: number;
  /** For `answer`: the body. */
  body?: AnswerBody;
  /** For huge bodies: the size. */
  bodyBytes?: number;
  chunked?: boolean;
}

/** mulberry32: small, fast, seedable; good enough to spread faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private script: (ScriptedFault & { times: number })[] = [];
  private random?: RandomFaults;
  private draw: () => number = Math.random;
  /** Faults injected so far, by kind. */
  readonly injected: Record<string, number> = {};

  configure(config: FaultsConfig): void {
    this.script = (config.script ?? []).map((entry) => ({ ...entry, times: entry.times ?? 1 }));
    this.random = config.random;
    if (config.random) this.draw = seededRandom(config.random.seed);
  }

  clear(): void {
    this.configure({});
  }

  decide(method: string, path: string, target: Target): Decision {
    const decision: Decision = { extraLatencyMs: 0 };
    const index = this.script.findIndex(
      (entry) =>
        (entry.match?.target ?? 'lakeformation') === target &&
        (entry.match?.method === undefined || entry.match.method.toUpperCase() === method) &&
        (entry.match?.path === undefined || path.includes(entry.match.path)),
    );
    const scripted = this.script[index];
    if (scripted) {
      scripted.times -= 1;
      if (scripted.times <= 0) this.script.splice(index, 1);
      this.count(scripted.fault);
      if (scripted.fault === 'latency') decision.extraLatencyMs = scripted.latencyMs ?? 1000;
      else decision.fault = scripted.fault;
      if (scripted.status !== undefined) decision.status = scripted.status;
      if (scripted.body !== undefined) decision.body = scripted.body;
      if (scripted.bodyBytes !== undefined) decision.bodyBytes = scripted.bodyBytes;
      if (scripted.chunked !== undefined) decision.chunked = scripted.chunked;
      return decision;
    }
    const random = this.random;
    if (!random || (random.target ?? 'lakeformation') !== target) return decision;
    if (random.latencySpike && this.draw() < random.latencySpike.rate) {
      decision.extraLatencyMs = random.latencySpike.ms;
      this.count('latency');
    }
    let roll = this.draw();
    for (const [fault, rate] of Object.entries(random.rates) as [Decision['fault'] & string, number][]) {
      if (roll < rate) {
        decision.fault = fault;
        if (fault === 'huge-body' && random.hugeBodyBytes !== undefined) {
          decision.bodyBytes = random.hugeBodyBytes;
        }
        this.count(fault);
        break;
      }
      roll -= rate;
    }
    return decision;
  }

  private count(kind: string): void {
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
  }
}
