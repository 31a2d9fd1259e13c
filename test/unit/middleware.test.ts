import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { failureMapping, StopFailedError } from '../../lib/edge/middleware/failure-mapping.js';
import {
  injectLakeFormation,
  type LakeFormationContext,
} from '../../lib/edge/middleware/inject-lake-formation.js';
import { logging } from '../../lib/edge/middleware/logging.js';
import { logger } from '../../lib/platform/logger.js';
import { metrics } from '../../lib/platform/metrics.js';
import { LakeFormationHttpError } from '../../lib/upstream/lakeformation/errors.js';
import { fakeClient } from '../support/fake-client.js';
import { lambdaContext } from '../support/lambda.js';
import { captureLogs } from '../support/logs.js';

describe('Middleware: injectLakeFormation()', () => {
  it('puts the client and a deadline of remaining time minus the margin on the context', async () => {
    // Prepare
    const client = fakeClient();
    let seen: { client?: unknown; deadline?: number } = {};
    const handler = middy(async (_event: unknown, context: Context) => {
      const injected = context as LakeFormationContext;
      seen = { client: injected.lakeFormation, deadline: injected.deadline };
    }).use(injectLakeFormation({ client: () => client, deadlineMarginMs: 2_000, now: () => 1_000_000 }));

    // Act
    await handler({}, lambdaContext(10_000, { getRemainingTimeInMillis: () => 10_000 }));

    // Assess
    expect(seen.client).toBe(client);
    expect(seen.deadline).toBe(1_000_000 + 10_000 - 2_000);
  });
});

describe('Middleware: failureMapping()', () => {
  it('rethrows a classified StopFailedError keeping the original as cause', async () => {
    const original = new LakeFormationHttpError('stopJob', 429, { errorCode: 'APIG.0308' });
    const handler = middy(async () => {
      throw original;
    }).use(failureMapping());

    const error = await handler({}, lambdaContext()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StopFailedError);
    expect((error as StopFailedError).failure.kind).toBe('THROTTLED');
    expect((error as StopFailedError).cause).toBe(original);
  });

  it('leaves a successful response alone', async () => {
    const handler = middy(async () => 'ok').use(failureMapping());
    expect(await handler({}, lambdaContext())).toBe('ok');
  });
});

describe('Middleware: logging()', () => {
  it('drops keys appended during one invocation before the next', async () => {
    // Prepare
    const logs = captureLogs();
    const handler = middy(async (event: { key?: string }) => {
      if (event.key) logger.appendKeys({ jobId: event.key });
      logger.info('handled');
    }).use(logging());

    // Act
    await handler({ key: 'job-1' }, lambdaContext());
    await handler({}, lambdaContext());

    // Assess
    expect(logs.lines.filter((line) => line.message === 'handled').map((line) => line.jobId)).toEqual([
      'job-1',
      undefined,
    ]);
  });

  it('stamps the correlation id picked from the event on every line, and only for that invocation', async () => {
    const logs = captureLogs();
    const handler = middy(async () => {
      logger.info('handled');
    }).use(
      logging<{ requestContext?: { requestId?: string } }>({
        correlationId: (event) => event.requestContext?.requestId,
      }),
    );

    await handler({ requestContext: { requestId: 'abc-123' } }, lambdaContext());
    await handler({}, lambdaContext());

    expect(
      logs.lines.filter((line) => line.message === 'handled').map((line) => line.correlation_id),
    ).toEqual(['abc-123', undefined]);
  });
});

describe('Middleware: logMetrics() with the shared metrics', () => {
  it('reports an invocation that published no metric in a JSON log line, like every other line', async () => {
    const logs = captureLogs();
    const handler = middy(async () => 'done').use(logMetrics(metrics));

    await handler({}, lambdaContext());

    expect(logs.lines).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: expect.stringContaining('No application metrics') }),
    );
  });
});
