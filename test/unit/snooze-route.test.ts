import { describe, expect, it } from 'vitest';
import { ProblemError } from '../../lib/edge/http/problems.js';
import { type SnoozeApiEvent, snoozeRoute } from '../../lib/edge/http/snooze-route.js';

const ALLOWED = new Set(['inst-1', 'inst-2']);

/** Runs the middleware's before on a request as the earlier middlewares leave it. */
function route(
  body: unknown,
  options: {
    path?: Record<string, string>;
    method?: string;
    hmac?: boolean;
    signedJobRequired?: boolean;
  } = {},
) {
  const event = {
    pathParameters: options.path ?? { jobId: 'job-1' },
    requestContext: { http: { method: options.method ?? 'POST' } },
    rawBody: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    ...(options.hmac && { caller: { method: 'hmac', keyIndex: 0 } }),
  } as unknown as SnoozeApiEvent;
  const middleware = snoozeRoute({
    defaultInstanceId: 'inst-1',
    allowedInstanceIds: ALLOWED,
    maxSnoozeMinutes: 240,
    signedJobRequired: options.signedJobRequired ?? false,
  });
  (middleware.before as (request: { event: SnoozeApiEvent }) => void)({ event });
  return event.snoozeRequest;
}

function refusal(run: () => unknown): { code: string; detail: string; field?: unknown } {
  try {
    run();
  } catch (error) {
    if (error instanceof ProblemError) {
      return { code: error.code, detail: error.detail, field: error.options.members?.field };
    }
    throw error;
  }
  throw new Error('not refused');
}

describe('snoozeRoute()', () => {
  it('reads a snooze of the default instance, and a listing', () => {
    expect(route({ minutes: 60, reason: 'close', runStartedAt: '2026-12-02T06:00:00Z' })).toEqual({
      kind: 'snooze',
      instanceId: 'inst-1',
      jobId: 'job-1',
      minutes: 60,
      reason: 'close',
      runStartedAt: Date.UTC(2026, 11, 2, 6),
    });
    expect(route('', { method: 'GET', path: { jobId: 'job-1', instanceId: 'inst-2' } })).toEqual({
      kind: 'list',
      instanceId: 'inst-2',
      jobId: 'job-1',
    });
  });

  it.each([
    [{ minutes: 0 }, 'minutes must be a whole number from 1 to 240 (maxSnoozeMinutes)'],
    [{ minutes: 241 }, 'minutes must be a whole number from 1 to 240 (maxSnoozeMinutes)'],
    [{ minutes: '60' }, 'minutes must be a whole number from 1 to 240 (maxSnoozeMinutes)'],
    [{ minutes: 60, until: 'tomorrow' }, 'unknown field(s) in the body: until'],
    [{ minutes: 60, jobId: 'job-2' }, "the body's jobId is not the one the path names"],
    ['{', 'the body is not valid JSON'],
  ])('refuses %j', (body, detail) => {
    expect(refusal(() => route(body))).toMatchObject({ code: 'INVALID_REQUEST', detail });
  });

  it('refuses an instance that is not allowed after the body is valid', () => {
    expect(
      refusal(() => route({ minutes: 5 }, { path: { jobId: 'job-1', instanceId: 'inst-9' } })),
    ).toMatchObject({
      code: 'INSTANCE_NOT_ALLOWED',
    });
  });

  it('binds a signed body to its job when the stage requires it, as for a stop', () => {
    const signed = { hmac: true, signedJobRequired: true };
    expect(refusal(() => route({ minutes: 5 }, signed))).toMatchObject({
      code: 'INVALID_REQUEST',
      field: 'jobId',
    });
    expect(
      refusal(() =>
        route({ minutes: 5, jobId: 'job-1' }, { ...signed, path: { jobId: 'job-1', instanceId: 'inst-2' } }),
      ),
    ).toMatchObject({ field: 'instanceId' });
    expect(route({ minutes: 5, jobId: 'job-1' }, signed)).toMatchObject({ kind: 'snooze', minutes: 5 });
    // a bearer caller, or a stage that does not require it, need not name the job
    expect(route({ minutes: 5 }, { signedJobRequired: true })).toMatchObject({ kind: 'snooze' });
    expect(route({ minutes: 5 }, { hmac: true })).toMatchObject({ kind: 'snooze' });
  });
});
