import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_CODES } from '../../lib/domain/failures.js';
import { STOP_OUTCOMES } from '../../lib/domain/outcomes.js';
import { PROBLEMS } from '../../lib/edge/http/problems.js';

type Property = { enum?: string[]; pattern?: string; maxLength?: number };
const openapi = load(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as {
  paths: Record<string, { post: { responses: Record<string, unknown> } }>;
  components: {
    schemas: {
      Problem: { properties: { code: { enum: string[] }; outcome: Property } };
      StopResult: { properties: { outcome: Property } };
    };
    requestBodies: {
      Stop: { content: { 'application/json': { schema: { properties: Record<string, Property> } } } };
    };
  };
};
const messageSchema = JSON.parse(
  readFileSync(new URL('../../docs/stop-message.schema.json', import.meta.url), 'utf8'),
) as { properties: Record<string, Property> };

describe('docs/openapi.yaml', () => {
  it('lists exactly the problem codes the function can answer with', () => {
    expect([...openapi.components.schemas.Problem.properties.code.enum].sort()).toEqual(
      Object.keys(PROBLEMS).sort(),
    );
  });

  it('docs/http-api.md lists every problem code with the status it is answered with', () => {
    const table = readFileSync(new URL('../../docs/http-api.md', import.meta.url), 'utf8')
      .split('\n')
      .flatMap((line) => {
        const cells = line.split('|').map((cell) => cell.trim());
        const code = cells[1]?.match(/^`([A-Z_]+)`$/)?.[1];
        return code && /^\d{3}$/.test(cells[2] ?? '') ? [[code, Number(cells[2])] as const] : [];
      });
    expect(Object.fromEntries(table)).toEqual(
      Object.fromEntries(Object.entries(PROBLEMS).map(([code, { status }]) => [code, status])),
    );
  });

  it('names every stop outcome, as a result or as a problem', () => {
    const { StopResult, Problem } = openapi.components.schemas;
    expect(
      [...(StopResult.properties.outcome.enum ?? []), ...(Problem.properties.outcome.enum ?? [])].sort(),
    ).toEqual([...STOP_OUTCOMES].sort());
  });

  it('spells runStartedAt as the queue message schema does', () => {
    const body = openapi.components.requestBodies.Stop.content['application/json'].schema;
    const { pattern, maxLength } = body.properties.runStartedAt ?? {};
    expect({ pattern, maxLength }).toEqual({
      pattern: messageSchema.properties.runStartedAt?.pattern,
      maxLength: messageSchema.properties.runStartedAt?.maxLength,
    });
    expect(pattern).toBeDefined();
  });

  it('documents every status a problem code maps to, on both routes', () => {
    const statuses = new Set(Object.values(PROBLEMS).map((problem) => String(problem.status)));
    for (const path of ['/jobs/{jobId}/stop', '/instances/{instanceId}/jobs/{jobId}/stop']) {
      const documented = Object.keys(openapi.paths[path]?.post.responses ?? {});
      expect(documented).toEqual(expect.arrayContaining([...statuses, '200', '202']));
    }
  });
});

describe('docs/runbook.md', () => {
  it('says what to do for every errorCode a dead-lettered message can carry', () => {
    const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');
    // the first cell of each row of the DLQ triage table
    const triaged = new Set(
      runbook
        .split('\n')
        .filter((line) => line.startsWith('| `'))
        .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z_]+)`/g)].map((match) => match[1])),
    );
    expect(DEAD_LETTER_CODES.filter((code) => !triaged.has(code))).toEqual([]);
  });
});

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
const anchors = (markdown: string) =>
  new Set(
    markdown
      .split('\n')
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) => slug(line.replace(/^#+ /, ''))),
  );

describe('the alarms and their runbook entries', () => {
  const template = read('serverless.yml');
  const alarms = [
    ...template.matchAll(/AlarmName: \$\{self:service\}-\$\{sls:stage\}-(\S+)\n\s+AlarmDescription: (.*)/g),
  ].map(([, name, description]) => ({ name: String(name), description: String(description) }));
  const headings = read('docs/runbook.md')
    .split('\n')
    .filter((line) => line.startsWith('### `'));

  it('finds every alarm of the template', () => {
    expect(alarms.length).toBe([...template.matchAll(/Type: AWS::CloudWatch::Alarm/g)].length);
  });

  it('has a runbook entry for every alarm, named in the alarm as the entry is headed', () => {
    for (const { name, description } of alarms) {
      const heading = headings.find((line) => line.startsWith(`### \`${name}\``));
      expect(heading, `docs/runbook.md has no entry for ${name}`).toBeDefined();
      const named = description.match(/docs\/runbook\.md \(([^)]+)\)/)?.[1];
      expect(named, `the ${name} alarm does not point at its runbook entry`).toBeDefined();
      expect(heading).toContain(named);
    }
  });
});

describe('links between the docs', () => {
  it('points every #anchor of README.md and docs/ at a heading that exists', () => {
    const files = [
      'README.md',
      ...readdirSync(new URL('../../docs', import.meta.url))
        .filter((name) => name.endsWith('.md'))
        .map((name) => `docs/${name}`),
    ];
    const broken: string[] = [];
    for (const file of files) {
      for (const [, target, anchor] of read(file).matchAll(/\]\(([^)#\s]*)#([^)\s]+)\)/g)) {
        const dir = file.includes('/') ? 'docs/' : '';
        const path = target ? posix.normalize(`${dir}${target}`) : file;
        if (!path.endsWith('.md')) continue;
        if (!anchors(read(path)).has(String(anchor))) broken.push(`${file} → ${path}#${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
