import { describe, expect, it } from 'vitest';
import { stopWithOutcome } from '../../lib/domain/stop.js';
import { parseRunStartedAt } from '../../lib/domain/stop-request.js';
import { InstanceNotFoundError, LakeFormationTimeoutError } from '../../lib/upstream/lakeformation/errors.js';
import { fakeClient, httpError } from '../support/fake-client.js';
import { captureLogs } from '../support/logs.js';

const REF = { instanceId: 'inst-1', jobId: 'job-1' };

describe('Function: stopWithOutcome()', () => {
  it('reports STOP_REQUESTED when LakeFormation accepts the stop, without reading the job', async () => {
    const client = fakeClient();
    expect(await stopWithOutcome(client, REF)).toEqual({ ...REF, outcome: 'STOP_REQUESTED' });
    expect(client.calls.map((c) => c.op)).toEqual(['stopJob']);
  });

  it('reports NOT_FOUND on 404', async () => {
    const client = fakeClient({ stop: httpError(404, 'common.01000001') });
    expect(await stopWithOutcome(client, REF)).toEqual({ ...REF, outcome: 'NOT_FOUND' });
  });

  it.each(['CREATED', 'SUCCESS', 'FAILED', 'STOPPED', 'PARTIAL_SUCCESS'])(
    'reads the job after a refused stop and reports NOT_RUNNING for %s',
    async (status) => {
      const client = fakeClient({ stop: httpError(400, 'common.01000001'), jobs: { 'job-1': { status } } });
      expect(await stopWithOutcome(client, REF)).toEqual({ ...REF, outcome: 'NOT_RUNNING', status });
      expect(client.calls.map((c) => c.op)).toEqual(['stopJob', 'getJob']);
    },
  );

  it.each(['FROZEN_RELEASABLE', 'FROZEN_UNRELEASABLE', 'RUNNING', 'SUBMITTED', 'SOMETHING_NEW'])(
    'reports NOT_STOPPABLE when the refused job is %s, with LakeFormation’s reason',
    async (status) => {
      const client = fakeClient({ stop: httpError(409, 'LF.123', 'frozen'), jobs: { 'job-1': { status } } });
      expect(await stopWithOutcome(client, REF)).toEqual({
        ...REF,
        outcome: 'NOT_STOPPABLE',
        status,
        detail: 'LF.123: frozen',
      });
    },
  );

  it('does not depend on the error code of the refusal: any 400 or 409 is classified by the job status', async () => {
    const codes = ['common.01000001', 'lakeformation.00000005', undefined];
    for (const code of codes) {
      const client = fakeClient({ stop: httpError(400, code), jobs: { 'job-1': { status: 'SUCCESS' } } });
      expect((await stopWithOutcome(client, REF)).outcome).toBe('NOT_RUNNING');
    }
  });

  it.each(['00000005', 'lakeformation.00000005', 'LakeFormation.00000005'])(
    'reports NOT_FOUND when the stop and the read answer 400 "resource not found" (%s)',
    async (code) => {
      const client = fakeClient({ stop: httpError(400, code), missing: httpError(400, code) });
      expect(await stopWithOutcome(client, REF)).toEqual({ ...REF, outcome: 'NOT_FOUND' });
      expect(client.calls.map((c) => c.op)).toEqual(['stopJob', 'getJob', 'listJobs']);
    },
  );

  it('throws a read that answers any other 400: the job could not be read, so it has no outcome', async () => {
    const readError = httpError(400, 'common.01000001');
    const client = fakeClient({ stop: httpError(400), missing: readError });
    await expect(stopWithOutcome(client, REF)).rejects.toBe(readError);
  });

  it.each([
    ['the stop', { stop: httpError(404, 'APIG.0101') }],
    ['the read', { stop: httpError(400), missing: httpError(404, 'APIG.0101') }],
  ])('does not take the gateway’s "no such API" 404 on %s for a missing job', async (_name, setup) => {
    const client = fakeClient(setup);
    await expect(stopWithOutcome(client, REF)).rejects.toMatchObject({ status: 404, errorCode: 'APIG.0101' });
  });

  describe('a missing job in an instance that may not exist', () => {
    it('lists the instance once per client before the first NOT_FOUND, and not for other outcomes', async () => {
      const client = fakeClient({
        stop: (jobId) => (jobId === 'gone' ? httpError(404, 'common.01000001') : 'accept'),
      });
      const gone = { ...REF, jobId: 'gone' };

      await stopWithOutcome(client, REF);
      const outcomes = await Promise.all([stopWithOutcome(client, gone), stopWithOutcome(client, gone)]);
      await stopWithOutcome(client, gone);

      expect(outcomes.map((o) => o.outcome)).toEqual(['NOT_FOUND', 'NOT_FOUND']);
      expect(client.calls.filter((c) => c.op === 'listJobs')).toEqual([
        { op: 'listJobs', instanceId: 'inst-1' },
      ]);
    });

    it.each([
      ['404', httpError(404, 'common.01000001')],
      ['400 "resource not found"', httpError(400, '00000005')],
    ])('reports an instance whose list answers %s as not found, never the job', async (_name, listError) => {
      const client = fakeClient({ stop: httpError(404, 'common.01000001'), list: listError });
      const error = await stopWithOutcome(client, REF).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InstanceNotFoundError);
      expect(error).toMatchObject({ instanceId: 'inst-1', cause: listError });
    });

    it.each([
      ['400 of another code', httpError(400, '00000006')],
      ['403', httpError(403)],
    ])(
      'lets NOT_FOUND stand when the list answers %s, which says nothing about the instance',
      async (_name, listError) => {
        const client = fakeClient({ stop: httpError(404, 'common.01000001'), list: listError });
        expect((await stopWithOutcome(client, REF)).outcome).toBe('NOT_FOUND');
        expect((await stopWithOutcome(client, REF)).outcome).toBe('NOT_FOUND');
        expect(client.calls.filter((c) => c.op === 'listJobs')).toHaveLength(1);
      },
    );

    it('checks again after a check that failed', async () => {
      const client = fakeClient({ stop: httpError(404, 'common.01000001'), list: httpError(503) });
      await expect(stopWithOutcome(client, REF)).rejects.toMatchObject({ status: 503 });
      await expect(stopWithOutcome(client, REF)).rejects.toMatchObject({ status: 503 });
      expect(client.calls.filter((c) => c.op === 'listJobs')).toHaveLength(2);
    });
  });

  it('reports NOT_FOUND when the job vanished between the refused stop and the read', async () => {
    const client = fakeClient({ stop: httpError(400) });
    expect((await stopWithOutcome(client, REF)).outcome).toBe('NOT_FOUND');
  });

  it.each([
    ['a 500', httpError(500)],
    ['a 429', httpError(429, 'APIG.0308')],
    ['a 401', httpError(401, 'APIG.1002')],
    ['a 403', httpError(403)],
    ['a timeout', new LakeFormationTimeoutError('stopJob', 100)],
  ])('throws %s for the caller to classify as retryable', async (_name, error) => {
    const client = fakeClient({ stop: error });
    await expect(stopWithOutcome(client, REF)).rejects.toBe(error);
  });

  describe('a stop meant for one run of the job (runStartedAt)', () => {
    const RUN = Date.UTC(2026, 4, 27, 10, 4, 35, 743);
    const LATER_RUN = RUN + 3 * 3_600_000;

    it('reads the job first and stops it while that run is on', async () => {
      const client = fakeClient({ jobs: { 'job-1': { status: 'RUNNING', startTime: RUN } } });
      expect(await stopWithOutcome(client, REF, {}, { runStartedAt: RUN })).toEqual({
        ...REF,
        outcome: 'STOP_REQUESTED',
      });
      expect(client.calls.map((c) => c.op)).toEqual(['getJob', 'stopJob']);
    });

    it('leaves a later run alone: RUN_CHANGED, with the status and both start times, and no stop call', async () => {
      const client = fakeClient({ jobs: { 'job-1': { status: 'RUNNING', startTime: LATER_RUN } } });
      expect(await stopWithOutcome(client, REF, {}, { runStartedAt: RUN })).toEqual({
        ...REF,
        outcome: 'RUN_CHANGED',
        status: 'RUNNING',
        detail: "the job's run started at 2026-05-27T13:04:35.743Z, not 2026-05-27T10:04:35.743Z",
      });
      expect(client.calls.map((c) => c.op)).toEqual(['getJob']);
    });

    it('stops, with a warning, a job that reads without start_time: which run it is on cannot be told', async () => {
      const logs = captureLogs();
      const client = fakeClient({ jobs: { 'job-1': { status: 'RUNNING' } } });
      expect(await stopWithOutcome(client, REF, {}, { runStartedAt: RUN })).toEqual({
        ...REF,
        outcome: 'STOP_REQUESTED',
      });
      expect(client.calls.map((c) => c.op)).toEqual(['getJob', 'stopJob']);
      expect(logs.lines.find((line) => line.level === 'WARN')).toMatchObject({
        message: expect.stringContaining('without start_time'),
        jobId: 'job-1',
      });
    });

    it('reports NOT_RUNNING, with no stop call and no warning, for a finished job read without start_time', async () => {
      const logs = captureLogs();
      const client = fakeClient({ jobs: { 'job-1': { status: 'FAILED' } } });
      expect((await stopWithOutcome(client, REF, {}, { runStartedAt: RUN })).outcome).toBe('NOT_RUNNING');
      expect(client.calls.map((c) => c.op)).toEqual(['getJob']);
      expect(logs.lines.filter((line) => line.level === 'WARN')).toEqual([]);
    });

    it('reports NOT_RUNNING without a stop call when that run is over', async () => {
      const client = fakeClient({ jobs: { 'job-1': { status: 'SUCCESS', startTime: RUN } } });
      expect(await stopWithOutcome(client, REF, {}, { runStartedAt: RUN })).toEqual({
        ...REF,
        outcome: 'NOT_RUNNING',
        status: 'SUCCESS',
      });
      expect(client.calls.map((c) => c.op)).toEqual(['getJob']);
    });

    it('reports NOT_FOUND for a missing job once its instance is confirmed, and throws a failed read', async () => {
      const missing = fakeClient();
      expect(await stopWithOutcome(missing, REF, {}, { runStartedAt: RUN })).toEqual({
        ...REF,
        outcome: 'NOT_FOUND',
      });
      expect(missing.calls.map((c) => c.op)).toEqual(['getJob', 'listJobs']);

      const failing = fakeClient({ missing: httpError(503) });
      await expect(stopWithOutcome(failing, REF, {}, { runStartedAt: RUN })).rejects.toMatchObject({
        status: 503,
      });
      expect(failing.calls.map((c) => c.op)).toEqual(['getJob']);
    });

    it('tells a run that began between the read and a refused stop from a job that cannot be stopped', async () => {
      const jobs = { 'job-1': { status: 'RUNNING', startTime: RUN } };
      const client = fakeClient({
        jobs,
        stop: () => {
          jobs['job-1'] = { status: 'RUNNING', startTime: LATER_RUN };
          return httpError(409);
        },
      });
      expect(await stopWithOutcome(client, REF, {}, { runStartedAt: RUN })).toMatchObject({
        outcome: 'RUN_CHANGED',
        status: 'RUNNING',
      });
    });

    it('takes start times less than a second apart for the same run (a precision LakeFormation may drop)', async () => {
      const truncated = Math.floor(RUN / 1000) * 1000;
      for (const [startTime, outcome] of [
        [truncated, 'STOP_REQUESTED'],
        [RUN + 999, 'STOP_REQUESTED'],
        [RUN - 999, 'STOP_REQUESTED'],
        [RUN + 1000, 'RUN_CHANGED'],
        [RUN - 1000, 'RUN_CHANGED'],
      ] as const) {
        const client = fakeClient({ jobs: { 'job-1': { status: 'RUNNING', startTime } } });
        expect((await stopWithOutcome(client, REF, {}, { runStartedAt: RUN })).outcome).toBe(outcome);
      }
    });

    it('compares instants, not spellings: the same start in microseconds and another zone is the same run', async () => {
      const client = fakeClient({ jobs: { 'job-1': { status: 'RUNNING', startTime: RUN } } });
      const spelled = parseRunStartedAt('2026-05-27T18:04:35.743219+08:00');
      expect(await stopWithOutcome(client, REF, {}, { runStartedAt: spelled })).toMatchObject({
        outcome: 'STOP_REQUESTED',
      });
    });
  });

  it('passes the deadline on to both calls', async () => {
    const client = fakeClient({ stop: httpError(400), jobs: { 'job-1': { status: 'FAILED' } } });
    await stopWithOutcome(client, REF, { deadline: 12345 });
    expect(client.calls[0]?.deadline).toBe(12345);
  });
});
