import { describe, expect, it } from 'vitest';
import { RULES, readTree, violations } from '../../scripts/check-layers.js';

/** One module of `path` whose text is `text`: the smallest tree the rule can judge. */
const tree = (path: string, text: string) => ({ [path]: text });

describe('the one-way rule (scripts/check-layers.ts, run by npm run lint)', () => {
  it('finds no import against it in the working tree', () => {
    const files = readTree();
    expect(Object.keys(files).filter((file) => file.startsWith('lib/')).length).toBeGreaterThan(30);
    expect(violations(files)).toEqual([]);
  });

  it.each([
    [
      'upstream → domain',
      'lib/upstream/huawei/credentials.ts',
      "import type { X } from '../../domain/failures.js';",
    ],
    ['domain → edge', 'lib/domain/stop.ts', "import { a } from '../edge/http/problems.js';"],
    [
      'lib → the composition root',
      'lib/edge/http/body.ts',
      "import { c } from '../../container/container.js';",
    ],
    [
      'huawei → lakeformation (a type import)',
      'lib/upstream/huawei/token-provider.ts',
      "import type { Job } from '../lakeformation/job.js';",
    ],
    ['transport → aws', 'lib/upstream/transport/retry.ts', "import { x } from '../aws/sqs.js';"],
    ['aws → huawei', 'lib/upstream/aws/secrets.ts', "import { x } from '../huawei/errors.js';"],
    ['edge/http → edge/queue', 'lib/edge/http/stop-route.ts', "import { x } from '../queue/stop-batch.js';"],
    [
      'edge/middleware → edge/http',
      'lib/edge/middleware/logging.ts',
      "import { x } from '../http/event.js';",
    ],
    ['domain root → domain/reaper', 'lib/domain/stop.ts', "import { x } from './reaper/policy.js';"],
    [
      'one part of the domain → another',
      'lib/domain/reaper/reaper.ts',
      "import { x } from '../other/part.js';",
    ],
    ['platform → upstream', 'lib/platform/time.ts', "import { x } from '../upstream/lakeformation/job.js';"],
    [
      'a handler → upstream',
      'functions/bulk-stop.ts',
      "import { getSqsClient } from '../lib/upstream/aws/sqs.js';",
    ],
    ['a handler → another handler', 'functions/bulk-stop.ts', "import { handler } from './stop-job.js';"],
    [
      'the cli → the composition root',
      'cli/enqueue-stops.ts',
      "import { x } from '../lib/container/container.js';",
    ],
    ['the emulator → lib', 'local/emulator/server.ts', "import { x } from '../../lib/platform/time.js';"],
    ['a dynamic import', 'lib/upstream/aws/sqs.ts', "const m = await import('../../domain/enqueue.js');"],
    ['a re-export', 'lib/platform/objects.ts', "export * from '../domain/failures.js';"],
    ['a side-effect import', 'lib/platform/logger.ts', "import '../edge/middleware/logging.js';"],
    ['a module directly in lib/', 'lib/runtime.ts', ''],
    ['a module in a folder of lib/ that is no layer', 'lib/auth/credentials.ts', ''],
    ['module-scope state: a let', 'lib/domain/stop.ts', 'let cache: string | undefined;\n'],
    [
      'module-scope state: a Map',
      'lib/upstream/huawei/token-provider.ts',
      'export const tokens = new Map<string, string>();\n',
    ],
    ['module-scope state: a WeakMap', 'lib/domain/stop.ts', 'const seen = new WeakMap();\n'],
    ['module-scope state in the composition root', 'lib/container/container.ts', 'let transport;\n'],
  ])('refuses %s', (_, path, text) => {
    expect(violations(tree(path, text))).toHaveLength(1);
  });

  it.each([
    [
      'edge → domain, upstream and platform',
      'lib/edge/queue/stop-batch.ts',
      "import { a } from '../../domain/stop.js';\nimport { b } from '../../upstream/aws/sqs.js';\nimport { c } from '../../platform/logger.js';\nimport { d } from '../middleware/logging.js';",
    ],
    [
      'domain/reaper → domain root',
      'lib/domain/reaper/reaper.ts',
      "import type { StopMessage } from '../stop-request.js';",
    ],
    [
      'lakeformation → huawei and transport',
      'lib/upstream/lakeformation/client.ts',
      "import type { TokenSource } from '../huawei/token-provider.js';\nimport {\n  withRetries,\n} from '../transport/retry.js';",
    ],
    [
      'the composition root → every layer',
      'lib/container/container.ts',
      "import { a } from '../edge/http/webhook-keys.js';\nimport { b } from '../upstream/aws/sqs.js';",
    ],
    [
      'a handler → the root, edge and domain',
      'functions/stop-job.ts',
      "import { a } from '../lib/container/container.js';\nimport { b } from '../lib/edge/http/body.js';\nimport { c } from '../lib/domain/stop.js';",
    ],
    ['the emulator → local/', 'local/emulator/main.ts', "import { onSignals } from '../signals.js';"],
    [
      'packages, and a comment naming a module',
      'lib/platform/metrics.ts',
      "import { Metrics } from '@aws-lambda-powertools/metrics';\n// not: import { x } from '../domain/stop.js';",
    ],
    [
      'tests, which reach any layer',
      'test/unit/stop.test.ts',
      "import { x } from '../../lib/container/container.js';",
    ],
    [
      'a new part of the domain → itself and the domain root',
      'lib/domain/other/part.ts',
      "import { a } from './records.js';\nimport type { StopResult } from '../outcomes.js';",
    ],
    [
      'state in a container cell, and in functions',
      'lib/domain/stop.ts',
      'const seen = /* @__PURE__ */ containerCell(() => new WeakMap());\nfunction f() {\n  let n = 0;\n  const m = new Map();\n}\n',
    ],
    [
      'constant lookups',
      'lib/upstream/lakeformation/job.ts',
      "const NOT_RUNNING = new Set(['STOPPED']);\nconst LIMITS = { max: 1 } as const;\n",
    ],
    [
      'the cells themselves',
      'lib/platform/container-state.ts',
      'const cells: { reset(): void }[] = [];\nlet x;\n',
    ],
  ])('allows %s', (_, path, text) => {
    expect(violations(tree(path, text))).toEqual([]);
  });

  it('names the importer, the module and what its folder may import', () => {
    expect(violations(tree('lib/domain/stop.ts', "import { a } from '../edge/http/problems.js';"))).toEqual([
      `lib/domain/stop.ts imports lib/edge/http/problems.js: a module of lib/domain may import only from its own folder, ${RULES['lib/domain']?.slice(1).join(', ')}`,
    ]);
  });
});
