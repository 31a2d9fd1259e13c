/**
 * Options of the functions' AWS SDK clients (Secrets Manager, SQS). The SDK's default is to wait for
 * an answer forever: a request AWS does not answer would run into the Lambda's timeout and lose the
 * whole invocation. These give up in time for the function to report it instead: at most 3 attempts
 * of 1.5 s each and the SDK's short back-offs (~4.7 s measured), inside the 5 s the queue function
 * keeps back for its dead letters.
 */
export const AWS_CLIENT_OPTIONS = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 1_500, throwOnRequestTimeout: true },
} as const;
