import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * Every command the README and docs/ tell a reader to run on this machine is one that something
 * runs: an npm script that exists and that CI (.ci/run) or a test runs, its entry file exercised by
 * a test. A command that only the docs know is a command nobody knows still works.
 */

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const pages = [
  'README.md',
  ...readdirSync(new URL('docs/', root))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
const ci = read('.ci/run');

function files(dir: string): string[] {
  return readdirSync(new URL(dir, root), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(`${dir}${entry.name}/`) : [`${dir}${entry.name}`],
  );
}
const tests = files('test/')
  .filter((file) => file.endsWith('.ts') || file.endsWith('.mjs'))
  .map((file) => read(file))
  .join('\n');

/** `npm run <script>`, `npm <script>` (start, test) in a page's code: spans and blocks. */
function npmCommands(text: string): string[] {
  const code = [...text.matchAll(/```[\s\S]*?```|`[^`\n]+`/g)].map((match) => match[0]).join('\n');
  const found = new Set<string>();
  for (const match of code.matchAll(/\bnpm (?:run )?([a-z][a-z:-]*)/g)) {
    const name = match[1] as string;
    if (['ci', 'install', 'i', 'run', 'view'].includes(name)) continue;
    found.add(name);
  }
  return [...found];
}

/** Scripts a test or CI runs: by name, or by the entry file the script runs. */
function exercised(name: string): boolean {
  if (new RegExp(`npm (run )?${name}\\b`).test(ci)) return true;
  const entry = scripts[name]?.match(/tsx ([\w/.-]+\.ts)/)?.[1];
  if (entry) {
    const module = entry.replace(/\.ts$/, '');
    if (tests.includes(module)) return true;
  }
  // vitest projects: a test script runs a project CI runs
  const project = scripts[name]?.match(/--project (\w+)/)?.[1];
  return project !== undefined && new RegExp(`npm (run )?test(:${project})?\\b`).test(ci);
}

describe('the commands in README.md and docs/', () => {
  const all = new Map<string, string[]>();
  for (const page of pages) {
    for (const name of npmCommands(read(page))) all.set(name, [...(all.get(name) ?? []), page]);
  }

  it('find commands to check', () => {
    expect(all.size).toBeGreaterThanOrEqual(10);
    expect([...all.keys()]).toEqual(expect.arrayContaining(['start', 'test', 'stops', 'preflight']));
  });

  it('name npm scripts that exist', () => {
    const unknown = [...all]
      .filter(([name]) => !(name in scripts))
      .map(([name, where]) => `${name} (${where})`);
    expect(unknown).toEqual([]);
  });

  it('name only scripts that CI or a test runs', () => {
    const unexercised = [...all.keys()].filter((name) => name in scripts && !exercised(name));
    expect(unexercised).toEqual([]);
  });
});
