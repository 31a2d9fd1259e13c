/** Exit codes a shell reports for a process ended by these signals (128 + the signal's number). */
const SIGNALS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Ends this process through `process.exit` on SIGINT, SIGTERM or SIGHUP, after `cleanup` (given
 * `timeoutMs` at most). Without it Node dies of SIGTERM or SIGHUP without running its exit hooks, and a
 * moto server it started would outlive it (local/moto.ts stops them in an exit hook). A second signal
 * exits at once.
 */
export function exitOnSignals(
  cleanup: () => Promise<void> = async () => {},
  { exitCode, timeoutMs = 10_000 }: { exitCode?: number; timeoutMs?: number } = {},
): void {
  let stopping = false;
  for (const [signal, code] of Object.entries(SIGNALS)) {
    const exit = () => process.exit(exitCode ?? code);
    process.on(signal, () => {
      if (stopping) exit();
      stopping = true;
      setTimeout(exit, timeoutMs).unref();
      cleanup()
        .catch((error: unknown) => console.error(`cleanup failed: ${(error as Error).message}`))
        .finally(exit);
    });
  }
}
