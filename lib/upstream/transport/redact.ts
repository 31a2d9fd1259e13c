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
 * Removes this service's secrets from text an upstream sent back: every occurrence of each of
 * `secrets` (as sent, and URL-encoded, as an echo may carry it) and any long run of token-like
 * characters (a part of a token cut short by the upstream is not found by the first rule). For text that may reach a caller, a log line or a dead letter; it is
 * redacted whole before anything cuts it short, so no cut can leave part of a secret behind.
 *
 * @example
 * redactSecrets('bad token MIIE...', [token]); // 'bad token [REDACTED]'
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      if (clean.includes(form)) clean = clean.replaceAll(form, REDACTED);
    }
  }
  return clean.replace(TOKEN_LIKE, (run) => (looksRandom(run) ? REDACTED : run));
}
