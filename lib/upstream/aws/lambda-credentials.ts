/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (see `alias` in
 * serverless.yml): Lambda hands every function its role's credentials in `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, so the SDK's full chain (profiles, SSO, web
 * identity, instance metadata and the STS/SSO clients behind them) is never reached there, yet it is
 * over a third of each bundle and a quarter of its import time. Source runs (tests, `npm start`,
 * scripts) keep the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

type EnvInit = Parameters<typeof fromEnv>[0];

/** Same name and call shape as the full chain's export, which the clients' runtime config imports. */
export const defaultProvider = (init?: EnvInit) => fromEnv(init);
