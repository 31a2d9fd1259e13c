import { credentialsLoader } from '../upstream/huawei/credentials.js';
import { createTokenProvider, type TokenSource } from '../upstream/huawei/token-provider.js';
import { createLakeFormationClient, type LakeFormationClient } from '../upstream/lakeformation/client.js';
import type { FetchLike } from '../upstream/transport/fetch-text.js';
import type { Config } from './config.js';

export { getSqsClient } from '../upstream/aws/sqs.js';

let client: { config: Config; client: LakeFormationClient; tokens: TokenSource } | undefined;
let transport: FetchLike | undefined;

/**
 * Replaces the HTTP transport of the IAM and LakeFormation calls (`undefined`: the default,
 * `node:http`). For tests that must not touch a network, and tools that route calls elsewhere.
 */
export function setTransport(fetch: FetchLike | undefined): void {
  transport = fetch;
  client = undefined;
}

/**
 * The container's LakeFormation client for `config`, created on first use and reused by warm
 * invocations together with its token cache.
 */
export function getLakeFormationClient(config: Config): LakeFormationClient {
  if (client?.config !== config) {
    const tokens = createTokenProvider({
      iamEndpoint: config.iamEndpoint,
      projectId: config.projectId,
      credentials: credentialsLoader(config.credentials),
      ...(transport && { fetch: transport }),
    });
    client = {
      config,
      tokens,
      client: createLakeFormationClient({
        endpoint: config.lakeFormationEndpoint,
        projectId: config.projectId,
        tokens,
        ...(transport && { fetch: transport }),
      }),
    };
  }
  return client.client;
}

/**
 * Starts reading the container's IAM credentials when no usable token is cached, without asking IAM
 * for a token: a cold HTTP invocation reads them while it reads the caller keys, instead of after.
 */
export function prepareLakeFormationClient(config: Config): void {
  getLakeFormationClient(config);
  client?.tokens.prepare?.();
}
