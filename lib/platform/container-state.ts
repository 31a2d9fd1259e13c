/**
 * Something a Lambda container builds once and keeps across warm invocations (a client, a cache):
 * calling it gives the value, built on the first call since the container started or was reset.
 */
export type ContainerCell<T> = () => T;

/** How to empty every cell of the process: the only module-scope state of lib/ (scripts/check-layers.ts). */
const resets: (() => void)[] = [];

/**
 * A value built on first use and kept for the container's life, until {@link resetContainerState}.
 * A build that throws keeps nothing: the next call builds again. Declare cells at module scope as
 * `/* @__PURE__ *\/ containerCell(…)`, so that a bundle that never reads one leaves it out, and
 * what it would build with.
 */
export function containerCell<T extends object>(build: () => T): ContainerCell<T> {
  let value: T | undefined;
  resets.push(() => {
    value = undefined;
  });
  return () => {
    value ??= build();
    return value;
  };
}

/** Drops what every cell holds. Only the composition root's `resetContainer()` calls it. */
export function resetContainerState(): void {
  for (const reset of resets) reset();
}
