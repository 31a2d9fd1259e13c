import { runPool } from '../../platform/pool.js';
import {
  type CallOptions,
  type LakeFormationClient,
  LIST_LIMITS,
} from '../../upstream/lakeformation/client.js';
import type { JobType } from '../../upstream/lakeformation/job.js';
import type { InstanceJob } from './staleness.js';

export interface ScanResult {
  /** Distinct jobs read, in the statuses asked for. */
  jobs: InstanceJob[];
  /** Jobs returned by the list calls (before de-duplication). */
  scanned: number;
  /** Jobs LakeFormation reported (`total`) beyond what paging can reach. */
  unreachable: number;
  /** Per instance × type × status: `total` as reported and jobs read. */
  slices: { instanceId: string; type: JobType; status: string; total: number; read: number }[];
}

/** List slices read side by side at most: every slice of 3 instances × 3 types at once, no more. */
export const SCAN_CONCURRENCY = 9;

/**
 * Lists every instance × type × status with offset/limit paging inside the API's limits
 * (`offset` ≤ 1000, `limit` ≤ 1000), up to {@link SCAN_CONCURRENCY} slices side by side (LakeFormation
 * documents no rate limit). The API has no cursor and no sort order, so at most 2000 jobs per slice
 * can be read; the rest are counted as unreachable.
 */
export async function scanJobs(
  client: LakeFormationClient,
  params: {
    instanceIds: readonly string[];
    types: readonly JobType[];
    statuses: readonly string[];
    pageSize?: number;
    /** @default SCAN_CONCURRENCY */
    concurrency?: number;
  },
  options: CallOptions = {},
): Promise<ScanResult> {
  const pageSize = params.pageSize ?? LIST_LIMITS.maxLimit;
  const slices = params.instanceIds.flatMap((instanceId) =>
    params.types.flatMap((type) => params.statuses.map((status) => ({ instanceId, type, status }))),
  );
  const read = await runPool(
    slices,
    params.concurrency ?? SCAN_CONCURRENCY,
    () => true,
    async ({ instanceId, type, status }) => {
      const jobs: InstanceJob[] = [];
      let total = 0;
      for (let offset = 0; offset <= LIST_LIMITS.maxOffset; offset += pageSize) {
        const page = await client.listJobs({ instanceId, type, status, offset, limit: pageSize }, options);
        total = page.total;
        jobs.push(...page.jobs.map((job) => ({ ...job, instanceId })));
        if (page.jobs.length < pageSize || offset + page.jobs.length >= total) break;
      }
      return { instanceId, type, status, total: Math.max(total, jobs.length), jobs };
    },
  );
  // every slice was started (mayStart is always true)
  const results = read.filter((slice) => slice !== undefined);
  const distinct = new Map<string, InstanceJob>();
  let scanned = 0;
  let unreachable = 0;
  for (const slice of results) {
    scanned += slice.jobs.length;
    unreachable += Math.max(0, slice.total - slice.jobs.length);
    for (const job of slice.jobs) {
      // The status filter is LakeFormation's; check it again rather than trust it.
      if (params.statuses.includes(job.status)) distinct.set(`${job.instanceId}/${job.id}`, job);
    }
  }
  return {
    jobs: [...distinct.values()],
    scanned,
    unreachable,
    slices: results.map(({ jobs, ...slice }) => ({ ...slice, read: jobs.length })),
  };
}
