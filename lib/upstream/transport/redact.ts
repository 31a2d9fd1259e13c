/** What replaces a secret in text that came from upstream. */
export const REDACTED = '[REDACTED]';

/**
 * A run of base64 characters this long, mixing upper case, lower case and digits, is taken for a
 * credential whatever it is: an IAM token is thousands of such characters, while error texts are
 * words, ids (36) and paths.
 */
const TOKEN_LIKE = /[A-Za-z0-9+/=_-]{100,}/g;
const looksRandom = (run: string) => /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run);

/**
 * An AK/SK signature as an echoed `Authorization` header shows it (`Signature=<64 hex>`): of this
 * request, or of an earlier one whose signature is not among the secrets passed.
 */
const SIGNATURE = /\b(Signature=)[0-9a-fA-F]{64}\b/g;

/**
 * What a gateway quotes of a signature's input when it refuses one (Huawei's APIG:
 * `canonicalRequest:GET|/v1/…|…`; others: the string to sign): everything up to the next blank. It
 * holds the signed headers, `x-security-token` among them.
 */
const SIGNATURE_INPUT = /\b(canonical[ _-]?request|string[ _-]?to[ _-]?sign)(\s*[:=]\s*)\S+/gi;

/**
 * Removes this service's secrets from text an upstream sent back: every occurrence of each of
 * `secrets` (as sent, and URL-encoded, as an echo may carry it), an AK/SK signature's input (the
 * canonical request or string to sign a gateway quotes) and any signature, and any long run of
 * token-like characters (a part of a token cut short by the upstream is not found by the first
 * rule). For text that may reach a caller, a log line or a dead letter; it is redacted whole before
 * anything cuts it short, so no cut can leave part of a secret behind.
 *
 * `secrets` are what the request carried: its token; or its signature, security token and the
 * secret key it was signed with.
 *
 * @example
 * redactSecrets('bad token MIIE...', [token]); // 'bad token [REDACTED]'
 * redactSecrets('verify aksk signature fail, canonicalRequest:GET|/v1/…', []);
 * // 'verify aksk signature fail, canonicalRequest:[REDACTED]'
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      if (clean.includes(form)) clean = clean.replaceAll(form, REDACTED);
    }
  }
  return clean
    .replace(SIGNATURE_INPUT, (_, name: string, separator: string) => `${name}${separator}${REDACTED}`)
    .replace(SIGNATURE, `$1${REDACTED}`)
    .replace(TOKEN_LIKE, (run) => (looksRandom(run) ? REDACTED : run));
}
