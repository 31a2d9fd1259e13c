/**
 * Runs `worker` over `items` with at most `limit` in flight, in the order of `items`. An item is
 * started only while `mayStart()` says so; the items it held back are returned.
 */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  mayStart: () => boolean,
  worker: (item: T, index: number) => Promise<void>,
): Promise<T[]> {
  const unstarted: T[] = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      const item = items[index] as T;
      if (!mayStart()) unstarted.push(item);
      else await worker(item, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return unstarted;
}
