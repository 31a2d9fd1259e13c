import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { containerCell } from '../../platform/container-state.js';
import { AWS_CLIENT_OPTIONS } from './client-options.js';

/**
 * Seconds a secret value is reused before Secrets Manager is asked again.
 * @default 300
 */
export const SECRET_CACHE_SECONDS = 300;

/** The container's Secrets Manager provider; its cache of secret values survives warm invocations. */
export const getSecretsProvider = /* @__PURE__ */ containerCell(
  () => new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient(AWS_CLIENT_OPTIONS) }),
);

/**
 * Why a secret could not be read, safe to log: a failure to fetch it (access denied, not found, no
 * network) with its message, but a failure to parse it by name only, since a JSON parse message
 * quotes the text it choked on. No `cause` is kept, for the same reason.
 */
export function describeSecretError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  if (error.name === 'TransformParameterError' || error instanceof SyntaxError)
    return `${error.name} (not valid JSON)`;
  // Powertools wraps what the SDK threw (AccessDeniedException, ResourceNotFoundException, ...)
  const reported = error.name === 'GetParameterError' && error.cause instanceof Error ? error.cause : error;
  return `${reported.name}: ${reported.message.slice(0, 300)}`;
}
