import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AWS_CLIENT_OPTIONS } from './client-options.js';

/**
 * Seconds a secret value is reused before Secrets Manager is asked again.
 * @default 300
 */
export const SECRET_CACHE_SECONDS = 300;

let secretsProvider: SecretsProvider | undefined;

/** One Secrets Manager provider per container; its cache survives warm invocations. */
export function getSecretsProvider(): SecretsProvider {
  secretsProvider ??= new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient(AWS_CLIENT_OPTIONS) });
  return secretsProvider;
}

/** Drops the shared provider and its cache (tests, or a process that changes `AWS_ENDPOINT_URL`). */
export function resetSecretsProvider(): void {
  secretsProvider = undefined;
}

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
