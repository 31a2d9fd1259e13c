import { createLedgerTable, type LedgerTable } from '../domain/ledger/table.js';
import { createWatchTable } from '../domain/ledger/watches.js';
import { stopAnnouncer } from '../domain/lifecycle/announce.js';
import { parsePolicy, type StalePolicy } from '../domain/reaper/policy.js';
import type { RunWatchStore } from '../domain/run-watch.js';
import { type WebhookKeys, webhookKeysLoader } from '../edge/http/webhook-keys.js';
import { containerCell, resetContainerState } from '../platform/container-state.js';
import { getDynamoDbClient } from '../upstream/aws/dynamodb.js';
import { getEventBridgeClient } from '../upstream/aws/eventbridge.js';
import { getSqsClient } from '../upstream/aws/sqs.js';
import { credentialsLoader } from '../upstream/huawei/credentials.js';
import { createCredentialsAuthorizer } from '../upstream/huawei/credentials-authorizer.js';
import { createTokenProvider } from '../upstream/huawei/token-provider.js';
import { createLakeFormationClient, type LakeFormationClient } from '../upstream/lakeformation/client.js';
import type { FetchLike } from '../upstream/transport/fetch-text.js';
import { createFlowControl, type FlowControl } from '../upstream/transport/flow.js';
import { type Config, type OptionalSetting, parseConfig, requireSettings } from './config.js';

export { getEventBridgeClient } from '../upstream/aws/eventbridge.js';
export { getSqsClient } from '../upstream/aws/sqs.js';

/*
 * The composition root: what a Lambda container builds from its configuration (process.env), each
 * part once and on first use, kept across warm invocations. Nothing in lib/ imports it; the handlers
 * do, and tests and local tools. Caches owned by a module of lib/ (tokens, secret values, confirmed
 * instances, the SQS client) are cells of their own module, dropped by the same reset.
 */

const overrides = /* @__PURE__ */ containerCell((): { transport?: FetchLike } => ({}));

const config = /* @__PURE__ */ containerCell(() => parseConfig(process.env));

const lakeFormation = /* @__PURE__ */ containerCell(() => {
  const { iamEndpoint, lakeFormationEndpoint, projectId, credentials } = config();
  const { transport } = overrides();
  const loader = credentialsLoader(credentials);
  const tokens = createTokenProvider({
    iamEndpoint,
    projectId,
    credentials: loader,
    ...(transport && { fetch: transport }),
  });
  // signs each request when the credentials are an access key, else sends IAM tokens
  const authorizer = createCredentialsAuthorizer({ credentials: loader, tokens, projectId });
  const client = createLakeFormationClient({
    endpoint: lakeFormationEndpoint,
    projectId,
    authorizer,
    ...(transport && { fetch: transport }),
  });
  return { authorizer, client, endpoint: lakeFormationEndpoint, projectId, transport };
});

/**
 * The queue functions' LakeFormation client: the same authorizer, its calls under this container's
 * flow control (a breaker, calls in flight that shrink on throttles, a learned rate, `Retry-After`
 * honoured container-wide). The webhook's client has none: its caller decides when to try again.
 */
const flowControlled = /* @__PURE__ */ containerCell(() => {
  const { authorizer, endpoint, projectId, transport } = lakeFormation();
  const { stopConcurrency, breaker } = config();
  const flow = createFlowControl({
    maxConcurrency: stopConcurrency,
    firstProbeMs: breaker.firstProbeSeconds * 1000,
    maxProbeMs: breaker.maxProbeSeconds * 1000,
  });
  const client = createLakeFormationClient({
    endpoint,
    projectId,
    authorizer,
    flow,
    ...(transport && { fetch: transport }),
  });
  return { client, flow };
});

const webhookKeys = /* @__PURE__ */ containerCell(() =>
  webhookKeysLoader(getConfig(['webhookSecretId']).webhookSecretId),
);

/**
 * The configuration, parsed once per container, with the optional settings this function cannot
 * work without. Called at a handler's module scope, so a bad variable fails the cold start.
 *
 * @throws {ConfigError} naming the first variable that is missing or malformed
 */
export function getConfig<N extends OptionalSetting = never>(
  needs: readonly N[] = [],
): Config & Required<Pick<Config, N>> {
  return requireSettings(config(), needs);
}

/** The container's LakeFormation client, its request authorizer (tokens or AK/SK) and credentials attached. */
export const getLakeFormationClient = (): LakeFormationClient => lakeFormation().client;

/** The queue and confirm functions' LakeFormation client, under the container's flow control. */
export const getQueueLakeFormationClient = (): LakeFormationClient => flowControlled().client;

/** How the container's flow control of LakeFormation calls stands (breaker, limits, rate). */
export const getLakeFormationFlow = (): FlowControl => flowControlled().flow;

/**
 * Starts reading the container's Huawei credentials when they are needed (no access key held, no
 * usable token cached), without asking IAM for a token: a cold HTTP invocation reads them while it
 * reads the caller keys, instead of after.
 */
export const prepareLakeFormationClient = (): void => lakeFormation().authorizer.prepare?.();

/** The webhook's caller keys (`WEBHOOK_SECRET_ID`): one read however many requests wait, then cached. */
export const loadWebhookKeys = (): Promise<WebhookKeys> => webhookKeys()();

/**
 * What a function that can accept a stop tells of each one it records: the first confirmation check
 * on the confirm queue, and the lifecycle event (`STOP_CONFIRM_QUEUE_URL`, `STOP_EVENT_BUS_NAME`).
 */
export const getAnnouncer = /* @__PURE__ */ containerCell(() => {
  const { confirmQueueUrl, eventBusName, confirm } = getConfig(['confirmQueueUrl', 'eventBusName']);
  return stopAnnouncer({
    sqs: getSqsClient,
    confirmQueueUrl,
    eventBridge: getEventBridgeClient,
    busName: eventBusName,
    settings: confirm,
  });
});

/** The stop ledger (`STOP_LEDGER_TABLE`), on the container's DynamoDB client. */
export const getLedger: () => LedgerTable = /* @__PURE__ */ containerCell(() => {
  const { ledgerTable, ledgerRetentionDays } = getConfig(['ledgerTable']);
  return createLedgerTable({
    tableName: ledgerTable,
    retentionDays: ledgerRetentionDays,
    client: getDynamoDbClient,
  });
});

/** The reaper's warnings and the owners' snoozes, on the ledger's table. */
export const getWatches: () => RunWatchStore = /* @__PURE__ */ containerCell(() => {
  const { ledgerTable, ledgerRetentionDays } = getConfig(['ledgerTable']);
  return createWatchTable({
    tableName: ledgerTable,
    retentionDays: ledgerRetentionDays,
    client: getDynamoDbClient,
  });
});

/**
 * `STALE_JOB_POLICY`, validated, with its defaults.
 *
 * @throws {PolicyError} naming the field at fault
 */
export const getStalePolicy: () => StalePolicy = /* @__PURE__ */ containerCell(() =>
  parsePolicy(config().staleJobPolicy),
);

/**
 * Drops everything the container built (configuration, clients, token and secret caches, confirmed
 * instances, loaders): the next use builds again from `process.env`. `transport` replaces node:http
 * for the IAM and LakeFormation calls of what is built next (tests that must not touch a network).
 * The one reset, for tests.
 */
export function resetContainer(options: { transport?: FetchLike } = {}): void {
  resetContainerState();
  if (options.transport) overrides().transport = options.transport;
}
