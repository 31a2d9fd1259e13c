import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_CODES, FAILURE_KINDS, FAILURES } from '../../lib/domain/failures.js';
import { OUTCOMES, outcomeDeadLetterCode, STOP_OUTCOMES } from '../../lib/domain/outcomes.js';
import { PROBLEMS, problemResponse } from '../../lib/edge/http/problems.js';

describe('the failure table (lib/domain/failures.ts)', () => {
  it('gives every problem code one HTTP status, whichever failure answers with it', () => {
    for (const kind of FAILURE_KINDS) {
      const { problem, httpStatus } = FAILURES[kind];
      expect({ kind, status: PROBLEMS[problem].status }).toEqual({ kind, status: httpStatus });
    }
  });

  it('answers each failure with its own row: status, code and the title of that code', () => {
    for (const kind of FAILURE_KINDS) {
      const response = problemResponse(kind, 'detail');
      const body = JSON.parse(String(response.body)) as Record<string, unknown>;
      const { httpStatus, problem } = FAILURES[kind];
      expect(response.statusCode).toBe(httpStatus);
      expect(body).toMatchObject({ status: httpStatus, code: problem, title: PROBLEMS[problem].title });
    }
  });

  it('dead-letters exactly the requests that can never succeed', () => {
    expect(DEAD_LETTER_CODES).toEqual([
      'INVALID_JSON',
      'INVALID_MESSAGE',
      'INVALID_ID',
      'INSTANCE_NOT_ALLOWED',
      'JOB_NOT_STOPPABLE',
    ]);
  });

  it('retries every failure of a stop that was made, and never one of the caller', () => {
    for (const kind of [
      'THROTTLED',
      'INTERNAL',
      'UPSTREAM_ERROR',
      'CREDENTIALS_REJECTED',
      'UPSTREAM_TIMEOUT',
      'DEADLINE',
    ] as const) {
      expect(FAILURES[kind].queue).toBe('retry');
    }
    for (const kind of ['UNAUTHENTICATED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const) {
      expect(FAILURES[kind].queue).toBeNull();
    }
  });

  it('has a row for every outcome that answers as a problem, and dead-letters only NOT_STOPPABLE', () => {
    expect(STOP_OUTCOMES.map((outcome) => [outcome, outcomeDeadLetterCode(outcome)])).toEqual([
      ['STOP_REQUESTED', undefined],
      ['NOT_RUNNING', undefined],
      ['NOT_FOUND', undefined],
      ['NOT_STOPPABLE', 'JOB_NOT_STOPPABLE'],
      ['RUN_CHANGED', undefined],
    ]);
    expect(FAILURES[OUTCOMES.NOT_FOUND.failure]).toMatchObject({ httpStatus: 404, queue: 'acknowledged' });
    expect(FAILURES[OUTCOMES.NOT_STOPPABLE.failure]).toMatchObject({ httpStatus: 409 });
  });
});
