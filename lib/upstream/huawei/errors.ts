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

/**
 * The credentials are an access key, which signs each request: IAM issues no token for one. The
 * request authorizer switches to signing when a token source meets it (the secret was rotated from
 * a password or token to an access key).
 */
export class AccessKeyCredentialsError extends CredentialsConfigError {
  override name = 'AccessKeyCredentialsError';
  constructor() {
    super(
      'the credentials are an access key (AK/SK): requests are signed with it, no IAM token is asked for',
    );
  }
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
