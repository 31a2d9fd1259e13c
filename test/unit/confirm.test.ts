import { describe, expect, it } from 'vitest';
import { firstCheck, judgeCheck } from '../../lib/domain/lifecycle/confirm.js';
import { SAME_RUN_WITHIN_MS } from '../../lib/domain/stop.js';
import type { Job } from '../../lib/upstream/lakeformation/job.js';

const SETTINGS = { firstCheckSeconds: 30, windowSeconds: 1800 };
const ACCEPTED = Date.UTC(2026, 11, 1, 12, 0, 0);
const RUN = ACCEPTED - 3_600_000;
const stop = { stopId: 's1', jobId: 'j1', instanceId: 'i1', runStartedAt: new Date(RUN).toISOString() };
const job = (status: string, extra: Partial<Job> = {}): Job =>
  ({ id: 'j1', name: 'n', type: 'METADATA_MIGRATION', status, startTime: RUN, ...extra }) as Job;

describe('Function: judgeCheck()', () => {
  it('confirms a job that ended, with its status and end time', () => {
    const check = firstCheck(stop, ACCEPTED, SETTINGS);
    expect(
      judgeCheck(check, job('STOPPED', { endTime: ACCEPTED + 5_000 }), ACCEPTED + 30_000, SETTINGS),
    ).toEqual({
      kind: 'confirmed',
      why: 'ended',
      status: 'STOPPED',
      endTime: ACCEPTED + 5_000,
    });
  });

  it('confirms a job that is gone, or on another run', () => {
    const check = firstCheck(stop, ACCEPTED, SETTINGS);
    expect(judgeCheck(check, undefined, ACCEPTED + 30_000, SETTINGS)).toMatchObject({
      kind: 'confirmed',
      why: 'gone',
    });
    expect(
      judgeCheck(check, job('RUNNING', { startTime: ACCEPTED + 10_000 }), ACCEPTED + 30_000, SETTINGS),
    ).toMatchObject({
      kind: 'confirmed',
      why: 'another run',
    });
  });

  it('confirms a stop that named no run once the job reads a run started after the stop was accepted', () => {
    const { runStartedAt: _run, ...runless } = stop;
    const check = firstCheck(runless, ACCEPTED, SETTINGS);
    const restarted = ACCEPTED + 5_000;
    const verdict = judgeCheck(check, job('RUNNING', { startTime: restarted }), ACCEPTED + 900_000, SETTINGS);
    // never "again" with stopAgain at half the window: that would stop the new run
    expect(verdict).toEqual({
      kind: 'confirmed',
      why: 'another run',
      status: 'RUNNING',
      startTime: restarted,
    });
  });

  it('takes a run-less job that started before the stop, or within the same-run tolerance of it, as the run stopped', () => {
    const { runStartedAt: _run, ...runless } = stop;
    const check = firstCheck(runless, ACCEPTED, SETTINGS);
    for (const startTime of [RUN, ACCEPTED, ACCEPTED + SAME_RUN_WITHIN_MS - 1]) {
      expect(judgeCheck(check, job('RUNNING', { startTime }), ACCEPTED + 900_000, SETTINGS)).toEqual({
        kind: 'again',
        status: 'RUNNING',
        delaySeconds: 60,
        stopAgain: true,
      });
    }
    expect(
      judgeCheck(
        check,
        job('RUNNING', { startTime: ACCEPTED + SAME_RUN_WITHIN_MS }),
        ACCEPTED + 900_000,
        SETTINGS,
      ),
    ).toMatchObject({ kind: 'confirmed', why: 'another run' });
  });

  it('checks a running job again after twice the delay, at most 300 s, never past the window', () => {
    let check = firstCheck(stop, ACCEPTED, SETTINGS);
    const delays: number[] = [];
    let at = ACCEPTED + check.delaySeconds * 1000;
    for (;;) {
      const verdict = judgeCheck(check, job('RUNNING'), at, SETTINGS);
      if (verdict.kind !== 'again') {
        expect(verdict.kind).toBe('stuck');
        break;
      }
      delays.push(verdict.delaySeconds);
      check = {
        ...check,
        delaySeconds: verdict.delaySeconds,
        checks: check.checks + 1,
        retried: check.retried || verdict.stopAgain,
      };
      at += verdict.delaySeconds * 1000;
    }
    expect(delays).toEqual([60, 120, 240, 300, 300, 300, 300, 150]);
    expect(at).toBe(ACCEPTED + 1_800_000);
  });

  it('sends the stop once more at half the window, once', () => {
    const check = { ...firstCheck(stop, ACCEPTED, SETTINGS), delaySeconds: 300 };
    expect(judgeCheck(check, job('RUNNING'), ACCEPTED + 899_000, SETTINGS)).toMatchObject({
      stopAgain: false,
    });
    expect(judgeCheck(check, job('RUNNING'), ACCEPTED + 900_000, SETTINGS)).toMatchObject({
      stopAgain: true,
    });
    expect(
      judgeCheck({ ...check, retried: true }, job('RUNNING'), ACCEPTED + 1_000_000, SETTINGS),
    ).toMatchObject({
      stopAgain: false,
    });
  });

  it('is STUCK when still running at the end of the window', () => {
    const check = firstCheck(stop, ACCEPTED, SETTINGS);
    expect(judgeCheck(check, job('RUNNING'), ACCEPTED + 1_800_000, SETTINGS)).toEqual({
      kind: 'stuck',
      status: 'RUNNING',
    });
  });
});
