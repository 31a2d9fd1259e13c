import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger } from '../../platform/logger.js';
import { metrics } from '../../platform/metrics.js';
import type { CallOptions, JobRef, LakeFormationClient } from '../../upstream/lakeformation/client.js';
import { LedgerUnavailableError, StopInProgressError } from '../failures.js';
import type { StopResult } from '../outcomes.js';
import { stopWithOutcome } from '../stop.js';
import {
  MAX_KEPT_REQUESTS,
  newStopId,
  type StopRecord,
  type StopRequest,
  type StopState,
} from './records.js';
import type { Claim, LedgerTable } from './table.js';

export interface StopOnceDependencies {
  client: LakeFormationClient;
  ledger: LedgerTable;
  /**
   * Told of every stop this request recorded (not of one it joined): queues the confirmation of an
   * accepted stop, publishes its event (domain/lifecycle/announce.ts). It must not throw.
   */
  announce?: (record: StopRecord) => Promise<void>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** What a stop request came to: its outcome, the stop it is part of, and whether it joined one under way. */
export interface LedgeredStop {
  result: StopResult;
  stopId: string;
  /** The request joined another's stop: no LakeFormation call was made for it. */
  joined: boolean;
}

/**
 * A stop its claimant held back once it held the run's claim (`holdBack` gave a reason): no call was
 * made, nothing recorded, the claim let go.
 */
export interface HeldBackStop {
  heldBack: string;
}

/** What a stop request asks of {@link stopOnce}. */
export interface StopOnceRequest {
  runStartedAt?: number;
  requests: StopRequest[];
  /**
   * Asked once this request holds the run's claim, before LakeFormation is called: a reason the stop
   * must not be made after all (the run was snoozed), or `undefined`. It is asked after the claim is
   * written so that a writer that reads the claim after its own write (the snooze) and this reader of
   * what it wrote cannot both miss each other. A throw lets go of the claim and is thrown on.
   */
  holdBack?: () => Promise<string | undefined>;
}

/** How long a request waits for another's stop of the same run to get its outcome, at most. */
const JOIN_WAIT_MS = 5_000;
const POLL_MS = 150;
/**
 * Claims tried at most per request: each failed one found another's stop to wait for or join, which
 * then ended otherwise. A claim that keeps answering so (a REQUESTED claim whose record is gone) must
 * end in a retryable failure, not a loop.
 */
const MAX_CLAIMS = 5;
/**
 * Writes of a stop's record are tried this often here. An accepted stop's record that still cannot
 * be written is left to its confirmation check, which carries it and writes it.
 */
const RECORD_ATTEMPTS = 4;

const iso = (ms: number) => new Date(ms).toISOString();
/** The first event of a record, by outcome (the lifecycle events' names where there is one). */
const EVENT_OF = {
  STOP_REQUESTED: 'Stop Requested',
  NOT_STOPPABLE: 'Stop Refused',
  NOT_RUNNING: 'Stop Not Needed',
  NOT_FOUND: 'Stop Not Needed',
  RUN_CHANGED: 'Stop Not Needed',
} as const;
const stateOf = (result: StopResult): StopState =>
  result.outcome === 'STOP_REQUESTED' ? 'REQUESTED' : result.outcome;

/**
 * Stops a job run at most once across every entry point (design: "One stop per job run"): a
 * conditional write on the job's claim decides which request calls LakeFormation; the others join
 * its stop, and get its `stopId` and `STOP_REQUESTED` without a call. A request that finds another's
 * stop still waiting for LakeFormation waits for it (briefly), then joins, or claims if that stop
 * ended otherwise. Every outcome is recorded; a retryable failure is not (the claim is let go).
 *
 * A ledger that cannot be written before the stop is a {@link LedgerUnavailableError}: no
 * LakeFormation call is made. Once LakeFormation accepted a stop it is never reported as not made:
 * its record is written with retries, and if that still fails the stop is answered as made, logged
 * and counted (`LedgerWriteFailed`), and its first confirmation check (queued all the same, carrying
 * the record's requests) writes the record when it finds none.
 */
export async function stopOnce(
  deps: StopOnceDependencies,
  ref: JobRef,
  request: StopOnceRequest & { holdBack: NonNullable<StopOnceRequest['holdBack']> },
  options: CallOptions & { deadline: number },
): Promise<LedgeredStop | HeldBackStop>;
export async function stopOnce(
  deps: StopOnceDependencies,
  ref: JobRef,
  request: Omit<StopOnceRequest, 'holdBack'>,
  options: CallOptions & { deadline: number },
): Promise<LedgeredStop>;
export async function stopOnce(
  deps: StopOnceDependencies,
  ref: JobRef,
  request: StopOnceRequest,
  options: CallOptions & { deadline: number },
): Promise<LedgeredStop | HeldBackStop> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const waitUntil = Math.min(options.deadline - 1_000, now() + JOIN_WAIT_MS);
  for (let claims = 1; ; claims++) {
    const stopId = newStopId(now());
    const attempt = await deps.ledger.claimStop(ref, {
      stopId,
      ...(request.runStartedAt !== undefined && { runStartedAt: request.runStartedAt }),
      now: now(),
      // a claimant that dies (a Lambda timeout) frees the run when its deadline has passed
      leaseMs: Math.max(1_000, options.deadline - now() + 1_000),
    });
    if (attempt.claimed) return stopAsClaimant(deps, ref, stopId, request, options, now, sleep);
    const holder = attempt.holder;
    if (claims >= MAX_CLAIMS) throw new StopInProgressError(holder.stopId, 2);
    if (holder.state === 'REQUESTED') {
      const joined = await join(deps, holder, ref, request.requests, now);
      if (joined) return joined;
      continue; // the record is gone (past its retention): claim anew
    }
    const settled = await waitForClaim(deps, ref, holder, waitUntil, now, sleep);
    if (settled === 'pending') throw new StopInProgressError(holder.stopId, 2);
    if (settled !== undefined) {
      const joined = await join(deps, settled, ref, request.requests, now);
      if (joined) return joined;
    }
    // the other stop ended otherwise (or was abandoned): this request makes its own
  }
}

async function stopAsClaimant(
  deps: StopOnceDependencies,
  ref: JobRef,
  stopId: string,
  request: StopOnceRequest,
  options: CallOptions & { deadline: number },
  now: () => number,
  sleep: (ms: number) => Promise<void>,
): Promise<LedgeredStop | HeldBackStop> {
  const letGo = () =>
    deps.ledger.releaseClaim(ref, stopId).catch((releaseError: unknown) => {
      // its lease runs out on its own
      logger.warn('could not let go of the claim of a stop not made', { stopId, error: releaseError });
    });
  let result: StopResult;
  try {
    const heldBack = await request.holdBack?.();
    if (heldBack !== undefined) {
      await letGo();
      return { heldBack };
    }
    result = await stopWithOutcome(deps.client, ref, options, { runStartedAt: request.runStartedAt });
  } catch (error) {
    await letGo();
    throw error;
  }
  const at = iso(now());
  const record: StopRecord = {
    stopId,
    jobId: ref.jobId,
    instanceId: ref.instanceId,
    ...(request.runStartedAt !== undefined && { runStartedAt: iso(request.runStartedAt) }),
    state: stateOf(result),
    outcome: result.outcome,
    ...(result.status !== undefined && { status: result.status }),
    ...(result.detail !== undefined && { detail: result.detail }),
    createdAt: at,
    updatedAt: at,
    requests: request.requests.slice(0, MAX_KEPT_REQUESTS),
    requestCount: request.requests.length,
    events: [{ at, type: EVENT_OF[result.outcome], detail: { outcome: result.outcome } }],
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.ledger.recordOutcome(ref, record, now());
      await deps.announce?.(record);
      return { result, stopId, joined: false };
    } catch (error) {
      const accepted = result.outcome === 'STOP_REQUESTED';
      const timeLeft = options.deadline - now() > 1_500;
      if (attempt < RECORD_ATTEMPTS && timeLeft) {
        await sleep(100 * 2 ** attempt);
        continue;
      }
      if (!accepted) {
        await deps.ledger.releaseClaim(ref, stopId).catch(() => {});
        throw error instanceof LedgerUnavailableError
          ? error
          : new LedgerUnavailableError('recordOutcome', error);
      }
      // LakeFormation took the stop: it is made, whatever the ledger says
      logger.error(
        'the stop was accepted but its record could not be written: its confirmation check will write it',
        { stopId, ...ref, error },
      );
      metrics.addMetric('LedgerWriteFailed', MetricUnit.Count, 1);
      // its confirmation still runs, and its first check, which carries the record, writes it
      await deps.announce?.(record);
      return { result, stopId, joined: false };
    }
  }
}

async function join(
  deps: StopOnceDependencies,
  holder: Claim,
  ref: JobRef,
  requests: StopRequest[],
  now: () => number,
): Promise<LedgeredStop | undefined> {
  let record: StopRecord | undefined;
  for (const request of requests) record = await deps.ledger.joinStop(holder.stopId, request, now());
  if (!record) return undefined;
  return {
    result: { jobId: ref.jobId, instanceId: ref.instanceId, outcome: 'STOP_REQUESTED' },
    stopId: holder.stopId,
    joined: true,
  };
}

/**
 * Waits for a `PENDING` claim to be settled: the `REQUESTED` claim to join, `undefined` when it is
 * gone (its stop ended otherwise, failed, or was abandoned), `'pending'` if it is still pending when
 * the wait is over.
 */
async function waitForClaim(
  deps: StopOnceDependencies,
  ref: JobRef,
  holder: Claim,
  until: number,
  now: () => number,
  sleep: (ms: number) => Promise<void>,
): Promise<Claim | 'pending' | undefined> {
  for (;;) {
    if (now() >= Math.min(until, holder.leaseUntil))
      return now() >= holder.leaseUntil ? undefined : 'pending';
    await sleep(POLL_MS);
    const claim = await deps.ledger.readClaim(ref, now());
    if (!claim || claim.stopId !== holder.stopId) return undefined;
    if (claim.state === 'REQUESTED') return claim;
  }
}
