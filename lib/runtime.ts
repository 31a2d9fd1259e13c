import { credentialsLoader } from './auth/credentials.js';
import { createTokenProvider } from './auth/token-provider.js';
import type { Config } from './config.js';
import { createLakeFormationClient, type LakeFormationClient } from './lakeformation/client.js';

let client: { config: Config; client: LakeFormationClient } | undefined;

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
    });
    client = {
      config,
      client: createLakeFormationClient({
        endpoint: config.lakeFormationEndpoint,
        projectId: config.projectId,
        tokens,
      }),
    };
  }
  return client.client;
}
