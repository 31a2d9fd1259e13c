import type { TokenSource } from './token-provider.js';

/** A LakeFormation request about to be sent, as a {@link RequestAuthorizer} sees it. */
export interface OutgoingRequest {
  method: string;
  /** The absolute URL, query included, exactly as it will be sent. */
  url: string;
  /** The headers the request carries besides the authorizer's own. */
  headers: Readonly<Record<string, string>>;
  body?: string;
}

/**
 * Names one authorization to {@link RequestAuthorizer.refused}; only the authorizer that made it
 * reads what is inside.
 */
export type AuthorizationHandle = object;

/** What a {@link RequestAuthorizer} adds to one request. */
export interface Authorization {
  /** Headers to send with the request (`X-Auth-Token`; or `X-Sdk-Date`, `Authorization`, …). */
  headers: Record<string, string>;
  /**
   * What this request carries that no text derived from its answer may hold (an error field, a
   * log line): the token; or the signature, the security token and the secret key.
   */
  secrets: readonly string[];
  /** Given back to {@link RequestAuthorizer.refused} when LakeFormation refuses this request. */
  handle: AuthorizationHandle;
}

/** How LakeFormation refused an authorization (401, or an invalid-token 400). */
export interface Refusal {
  status: number;
  errorCode?: string;
  /** The answer's `error_msg`, already cleaned of the request's secrets. */
  errorMsg?: string;
  /** The answer's `Date` header (the gateway's clock), `null` without one. */
  date: string | null;
  /** This host's clock when the answer arrived, epoch ms. */
  receivedAt: number;
  /** The refused request was already the repetition of a refused one. */
  repeated: boolean;
}

/**
 * What the client does next: repeat the request once with a fresh authorization, or give up, with
 * `error` instead of the HTTP error when the authorizer knows better what went wrong.
 */
export type RefusalVerdict = { retry: true } | { retry: false; error?: Error };

/**
 * Authenticates LakeFormation requests, one at a time: the client asks for an authorization before
 * each request, and says when LakeFormation refused one. Implemented with IAM tokens
 * ({@link tokenAuthorizer}) and with access keys that sign each request
 * (`createCredentialsAuthorizer`, which picks one by the credentials it finds).
 */
export interface RequestAuthorizer {
  /** An authorization for `request`, or a failure no later than `deadline` (epoch ms) where it can tell. */
  authorize(request: OutgoingRequest, deadline: number): Promise<Authorization>;
  /** LakeFormation refused the request authorized with `handle`: forget what it was made with. */
  refused(handle: AuthorizationHandle, refusal: Refusal): RefusalVerdict;
  /**
   * An authorization may soon be needed: start what can be done ahead of it (reading the
   * credentials), without a request to IAM. Never throws.
   */
  prepare?(): void;
}

/**
 * Authorizes with an IAM token in `X-Auth-Token`. A refused token is dropped and the request repeated
 * once with a new one; a second refusal is the client's HTTP error.
 *
 * @example
 * const client = createLakeFormationClient({ endpoint, projectId, authorizer: tokenAuthorizer(tokens) });
 */
export function tokenAuthorizer(tokens: TokenSource): RequestAuthorizer {
  return {
    async authorize(_request, deadline) {
      const token = await tokens.getToken(deadline);
      return { headers: { 'X-Auth-Token': token }, secrets: [token], handle: { token } };
    },
    refused(handle, refusal) {
      if (refusal.repeated) return { retry: false };
      tokens.invalidate((handle as { token: string }).token);
      return { retry: true };
    },
    prepare() {
      tokens.prepare?.();
    },
  };
}
