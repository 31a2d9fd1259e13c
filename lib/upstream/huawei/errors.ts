/**
 * Huawei refused our credentials: IAM would not issue a token, or LakeFormation rejected a
 * pre-issued token that cannot be renewed. The caller's request is fine; ours is not (HTTP 502,
 * retried from the queue).
 */
export class CredentialsRejectedError extends Error {
  override name = 'CredentialsRejectedError';
  constructor(
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The credentials secret is missing, unreadable or not in the documented shape. Secret values are never quoted. */
export class CredentialsConfigError extends Error {
  override name = 'CredentialsConfigError';
}

/** IAM could not be reached or failed (timeout, network, 5xx) after retries. */
export class IamUnavailableError extends Error {
  override name = 'IamUnavailableError';
  constructor(
    message: string,
    readonly status?: number,
    options?: ErrorOptions & { timedOut?: boolean },
  ) {
    super(message, options);
    this.timedOut = options?.timedOut ?? false;
  }
  /** No answer in time (request timeout or the caller's deadline), rather than a failure. */
  readonly timedOut: boolean;
}
