import type { HttpMiddleware } from './event.js';
import { ProblemError } from './problems.js';

/** Largest body accepted. */
export const MAX_BODY_BYTES = 16 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/** Standard base64 (RFC 4648 §4), as API Gateway encodes a body; padding optional. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** Whether `text` is standard base64: Node's decoder would silently drop whatever is not. */
export const isBase64 = (text: string): boolean => BASE64.test(text);

/**
 * Decodes the body (base64 when API Gateway says so), rejects bodies over `maxBytes` (413) and
 * non-empty bodies whose content type is not JSON (415). A missing content type is read as JSON.
 */
export function requestBody({ maxBytes = MAX_BODY_BYTES }: { maxBytes?: number } = {}): HttpMiddleware {
  return {
    before: ({ event }) => {
      const body = event.body ?? '';
      // A base64 text is 4/3 of its bytes: refuse the obviously oversized before decoding.
      if (body.length > (event.isBase64Encoded ? Math.ceil((maxBytes * 4) / 3) + 4 : maxBytes * 4)) {
        throw new ProblemError('PAYLOAD_TOO_LARGE', `the body must be at most ${maxBytes} bytes`);
      }
      // Node decodes what it can of anything and drops the rest: a body that is not base64 would be
      // read as another (often empty) body, and the stop made
      if (event.isBase64Encoded && !isBase64(body)) {
        throw new ProblemError(
          'INVALID_MESSAGE',
          'the body is marked base64-encoded but is not valid base64',
        );
      }
      const raw = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
      if (raw.length > maxBytes) {
        throw new ProblemError('PAYLOAD_TOO_LARGE', `the body must be at most ${maxBytes} bytes`);
      }
      const contentType = event.headers?.['content-type'];
      if (raw.length > 0 && contentType !== undefined && !JSON_TYPE.test(contentType.trim())) {
        throw new ProblemError('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
      }
      event.rawBody = raw;
    },
  };
}
