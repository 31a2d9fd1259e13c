/**
 * Reaper scan: two scheduled runs over everything the emulator holds (dry runs: the scan is what is
 * measured). The first pays for the cold process (secret, token, JIT); the second is the scan itself.
 */
import { context, peakRssMiB, report, sample } from './common.mjs';

const { handler } = await import(process.env.BENCH_BUNDLE);
const runs = [];
for (let i = 0; i < 2; i++) {
  const start = performance.now();
  const summary = await handler(sample('schedule'), context(300_000, 'stopStaleJobs'));
  runs.push({ wallMs: performance.now() - start, summary });
}
report({
  firstWallMs: runs[0].wallMs,
  wallMs: runs[1].wallMs,
  summary: runs[1].summary,
  peakRssMiB: peakRssMiB(),
});
process.exit(0);
