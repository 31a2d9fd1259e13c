/**
 * Fault injection for the emulator: a script of faults consumed in order by matching requests, and
 * seeded random faults (the same seed gives the same sequence, so a failing run can be replayed).
 */

export type FaultKind = '408' | '429' | '500' | '503' | 'reset' | 'hang' | 'latency';

export interface ScriptedFault {
  fault: FaultKind;
  /** For `latency`: the delay added before the normal answer. */
  latencyMs?: number;
  /** How many matching requests this entry applies to. @default 1 */
  times?: number;
  /** Only requests that match: method, and a substring of the path (e.g. `/stop`). */
  match?: { method?: string; path?: string; target?: Target };
}

export interface RandomFaults {
  seed: number;
  /** Probability per request of each fault, e.g. `{"429": 0.05, "reset": 0.02}`. */
  rates: Partial<Record<Exclude<FaultKind, 'latency' | 'hang'>, number>>;
  /** Probability of a latency spike and its size. */
  latencySpike?: { rate: number; ms: number };
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
