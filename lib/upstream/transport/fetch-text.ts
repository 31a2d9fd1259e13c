/**
 * Sent with every IAM and LakeFormation request, so that calls of this service can be told apart in
 * Huawei Cloud's own request logs.
 */
export const USER_AGENT = 'lf-job-stopper';

/** What the clients read of a response; the global `Response` fits. */
export interface ResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/**
 * The subset of `fetch` the clients use; the global `fetch` fits, and unit tests inject a fake.
 * `maxBodyBytes` asks the transport to give up on a longer answer body with a
 * {@link BodyTooLargeError} instead of buffering it (the default transport does; others are checked
 * once they have read it).
 */
export type FetchLike = (
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
    maxBodyBytes?: number;
  },
) => Promise<ResponseLike>;

/**
 * Longest answer body read from IAM or LakeFormation. Their documented answers are a few KiB; a
 * body past this is not one of them (a proxy's page, a runaway stream) and must not exhaust a
 * 256 MB Lambda.
 */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** An answer body was longer than the reader would take; it was not read to its end. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`the answer body is longer than ${maxBytes} bytes`);
  }
}

export interface TextResponse {
  status: number;
  headers: ResponseLike['headers'];
  text: string;
}

export interface FetchFailures {
  timeout: (timeoutMs: number) => Error;
  network: (cause: unknown) => Error;
  /** The answer body was longer than `maxBytes`. */
  tooLarge: (maxBytes: number) => Error;
}

/**
 * One HTTP exchange, body included, bounded by `timeoutMs` and by `maxBodyBytes` (default
 * {@link MAX_RESPONSE_BYTES}): a server that stalls mid-body times out like one that never answers,
 * and one that sends too much is cut off. Transport failures become the caller's own error types.
 */
export async function fetchText(
  fetchImpl: FetchLike,
  url: string,
  init: Parameters<FetchLike>[1],
  timeoutMs: number,
  failures: FetchFailures,
): Promise<TextResponse> {
  const maxBodyBytes = init.maxBodyBytes ?? MAX_RESPONSE_BYTES;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetchImpl(url, { ...init, maxBodyBytes, signal: controller.signal });
    const text = await response.text();
    // a transport that does not enforce the limit itself has read the body whole: refused all the same
    if (text.length > maxBodyBytes || Buffer.byteLength(text) > maxBodyBytes) {
      throw new BodyTooLargeError(maxBodyBytes);
    }
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw failures.tooLarge(error.maxBytes);
    if (controller.signal.aborted) throw failures.timeout(timeoutMs);
    throw failures.network(error);
  } finally {
    clearTimeout(timer);
  }
}
