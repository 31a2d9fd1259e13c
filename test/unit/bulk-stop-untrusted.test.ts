import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { processStopBatch } from '../../lib/edge/queue/stop-batch.js';
import { createLakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import { captureLogs } from '../support/logs.js';
import { upstreamFetch } from '../support/upstream-fetch.js';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const INSTANCE = '2180518f-42b8-4947-b20b-adfc53981a25';
const JOB = '03141229-84cd-4b1b-9733-dd124320c125';
const DLQ = 'http://127.0.0.1:1/123456789012/stop-dlq';
/** Shaped like an IAM token: long, base64. */
const TOKEN = `MIIEhQYJKoZIhvcNAQcCoIIEdjCCBHICAQExDTALBglghkgBZQMEAgEwggKTBgkqhkiG9w0BBwGgggKEBIICgHsidG9rZW4i${'Q'.repeat(400)}`;
const sqsMock = mockClient(SQSClient);

function record(body: object): SQSRecord {
  return {
    messageId: 'm1',
    receiptHandle: 'r1',
    body: JSON.stringify(body),
    attributes: {} as SQSRecord['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:stop-queue',
    awsRegion: 'eu-west-1',
  };
}

/** The real client, on a transport that answers as `upstream` says, with a fixed token. */
function batch(upstream: ReturnType<typeof upstreamFetch>) {
  const client = createLakeFormationClient({
    endpoint: 'https://lakeformation.test',
    projectId: PROJECT,
    tokens: { getToken: async () => TOKEN, invalidate: () => {} },
    fetch: upstream.fetch,
    retry: { maxAttempts: 1 },
  });
  return processStopBatch([record({ jobId: JOB })], {
    client,
    sqs: new SQSClient({}),
    dlqUrl: DLQ,
    defaultInstanceId: INSTANCE,
    allowedInstanceIds: new Set([INSTANCE]),
    concurrency: 1,
    deadline: Date.now() + 30_000,
  });
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('Function: processStopBatch() with untrusted answers', () => {
  it.each([
    ['200 with an HTML page', { status: 200, body: '<html>Welcome</html>' }],
    ['200 with an error JSON', { status: 200, body: { error_code: 'x', error_msg: 'y' } }],
    ['204', { status: 204 }],
  ])('retries, never acknowledges, a stop answered %s', async (_, answer) => {
    // Prepare
    const upstream = upstreamFetch();
    upstream.onStop = answer;
    // Act
    const { response, reports } = await batch(upstream);
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(reports[0]).toMatchObject({ disposition: 'retry', errorCode: 'UPSTREAM_ERROR' });
    expect(reports[0]?.outcome).toBeUndefined();
  });

  it('dead-letters a refused stop whose answer echoes the token without the token', async () => {
    // Prepare
    const logs = captureLogs();
    const upstream = upstreamFetch();
    upstream.onStop = (_jobId, token) => ({
      status: 409,
      body: { error_code: 'LF.1', error_msg: `no: ${token}` },
    });
    upstream.onGet = (jobId) => ({ status: 200, body: { id: jobId, status: 'FROZEN_RELEASABLE' } });
    // Act
    const { reports } = await batch(upstream);
    // Assess
    expect(reports[0]).toMatchObject({ disposition: 'dead-lettered', errorCode: 'JOB_NOT_STOPPABLE' });
    const sent = JSON.stringify(
      sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input),
    );
    expect(sent).toContain('no: [REDACTED]');
    expect(sent + JSON.stringify(reports) + JSON.stringify(logs.lines)).not.toContain(TOKEN.slice(0, 40));
  });

  it('retries a stop whose failure text echoes the token, and logs no part of it', async () => {
    const logs = captureLogs();
    const upstream = upstreamFetch();
    upstream.onStop = (_jobId, token) => ({ status: 500, body: `proxy error for X-Auth-Token ${token}` });
    const { reports } = await batch(upstream);
    expect(reports[0]).toMatchObject({ disposition: 'retry', errorCode: 'UPSTREAM_ERROR' });
    expect(JSON.stringify(reports) + JSON.stringify(logs.lines)).not.toContain(TOKEN.slice(0, 40));
  });
});
