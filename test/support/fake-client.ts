import type { LakeFormationClient } from '../../lib/upstream/lakeformation/client.js';
import { LakeFormationHttpError } from '../../lib/upstream/lakeformation/errors.js';
import type { Job } from '../../lib/upstream/lakeformation/job.js';

type Step = 'accept' | Error;

/**
 * An in-memory LakeFormation client for handler unit tests: `stop` decides what each stop call
 * does, `jobs` is what `getJob` reads. Records every call.
 */
export function fakeClient(
  options: {
    stop?: Step | ((jobId: string) => Step | Promise<Step>);
    jobs?: Record<string, Partial<Job>>;
    /** What `getJob` throws for a job not in `jobs`. @default 404 `common.01000001` */
    missing?: Error;
    /** What `listJobs` throws, when it fails (an instance that does not exist). @default an empty page */
    list?: Error;
  } = {},
) {
  const calls: {
    op: 'stopJob' | 'getJob' | 'listJobs';
    jobId?: string;
    instanceId: string;
    deadline?: number;
  }[] = [];
  const client: LakeFormationClient = {
    async stopJob(ref, callOptions) {
      calls.push({
        op: 'stopJob',
        ...ref,
        ...(callOptions?.deadline !== undefined && { deadline: callOptions.deadline }),
      });
      const rule = options.stop ?? 'accept';
      const step = typeof rule === 'function' ? await rule(ref.jobId) : rule;
      if (step instanceof Error) throw step;
    },
    async getJob(ref) {
      calls.push({ op: 'getJob', ...ref });
      const job = options.jobs?.[ref.jobId];
      if (!job)
        throw options.missing ?? new LakeFormationHttpError('getJob', 404, { errorCode: 'common.01000001' });
      return { id: ref.jobId, name: 'job', type: 'METADATA_MIGRATION', status: 'RUNNING', ...job };
    },
    async listJobs(params) {
      calls.push({ op: 'listJobs', instanceId: params.instanceId });
      if (options.list) throw options.list;
      return { total: 0, jobs: [] };
    },
  };
  return Object.assign(client, { calls });
}

export const httpError = (status: number, errorCode?: string, errorMsg?: string) =>
  new LakeFormationHttpError('stopJob', status, {
    ...(errorCode !== undefined && { errorCode }),
    ...(errorMsg !== undefined && { errorMsg }),
  });
