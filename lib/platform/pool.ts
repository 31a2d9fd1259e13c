/**
 * Runs `worker` over `items` with at most `limit` in flight, in the order of `items`, and gives its
 * results in that order. An item is started only while `mayStart()` says so; where it said no, the
 * result is `undefined` (so `worker` should not itself resolve to `undefined`).
 */
export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  mayStart: () => boolean,
  worker: (item: T, index: number) => Promise<R>,
): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = Array.from(items, () => undefined);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      if (mayStart()) results[index] = await worker(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
