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

/** The subset of `fetch` the clients use; the global `fetch` fits, and unit tests inject a fake. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<ResponseLike>;

export interface TextResponse {
  status: number;
  headers: ResponseLike['headers'];
  text: string;
}

export interface FetchFailures {
  timeout: (timeoutMs: number) => Error;
  network: (cause: unknown) => Error;
}

/**
 * One HTTP exchange, body included, bounded by `timeoutMs`: a server that stalls mid-body times out
 * like one that never answers. Transport failures become the caller's own error types.
 */
export async function fetchText(
  fetchImpl: FetchLike,
  url: string,
  init: Parameters<FetchLike>[1],
  timeoutMs: number,
  failures: FetchFailures,
): Promise<TextResponse> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetchImpl(url, { ...init, signal: controller.signal });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (controller.signal.aborted) throw failures.timeout(timeoutMs);
    throw failures.network(error);
  } finally {
    clearTimeout(timer);
  }
}
