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

/**
 * LakeFormation refused a signed request because this host's clock and its own are more than the
 * 15 minutes apart the gateway allows: no key can help, the clock must be fixed.
 */
export class ClockSkewError extends CredentialsRejectedError {
  override name = 'ClockSkewError';
  constructor(
    /** How far this host's clock is from LakeFormation's, in whole minutes; `undefined` when unknown. */
    readonly skewMinutes: number | undefined,
    status?: number,
  ) {
    super(
      `this host's clock is ${skewMinutes === undefined ? 'more than 15' : skewMinutes} min off LakeFormation's; signed requests more than 15 minutes off are refused`,
      status,
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
