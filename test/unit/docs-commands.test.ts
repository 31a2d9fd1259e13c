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
  .filter((file) => file !== 'test/unit/docs-commands.test.ts')
  .map((file) => ({ file, text: read(file) }));

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `npm run <script>`, `npm <script>` (start, test) in a page's code: spans and blocks. */
function npmCommands(text: string): string[] {
  const code = [...text.matchAll(/```[\s\S]*?```|`[^`\n]+`/g)].map((match) => match[0]).join('\n');
  const found = new Set<string>();
  for (const match of code.matchAll(/\bnpm (?:run (?:(?:-s|--silent) )?)?([a-z][a-z:-]*)/g)) {
    const name = match[1] as string;
    if (['ci', 'install', 'i', 'run', 'view'].includes(name)) continue;
    found.add(name);
  }
  return [...found];
}

/**
 * The npm scripts .ci/run runs: its command lines (not its comments, nor the titles of its steps)
 * that start with `npm <script>` or `npm run <script>`, after any `NAME=value` and `timeout <s>`.
 */
function ciScripts(text: string): Set<string> {
  const run = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').replace(/^[\s(]+/, '');
    const match = line.match(
      /^(?:[A-Za-z_]\w*=(?:"[^"]*"|'[^']*'|\S*)\s+)*(?:timeout\s+\d+\s+)?npm\s+(?:run\s+)?(?:(?:-s|--silent)\s+)?([a-z][\w:-]*)(?=\s|$)/,
    );
    if (match?.[1] && !['ci', 'install', 'run'].includes(match[1])) run.add(match[1]);
  }
  return run;
}
const ciRuns = ciScripts(ci);

/** A script that only runs vitest projects (at most with a worker count): its projects, and the variables it sets before. */
function vitestScript(name: string): { projects: string[]; variables: string[] } | undefined {
  const match = scripts[name]?.match(
    /^((?:[A-Z_]+=\S+ )*)exec vitest run((?: --project \w+)+)(?: --maxWorkers=\d+)?$/,
  );
  if (!match) return undefined;
  return {
    variables: [...(match[1] ?? '').matchAll(/([A-Z_]+)=/g)].map((m) => m[1] as string),
    projects: [...(match[2] ?? '').matchAll(/--project (\w+)/g)].map((m) => m[1] as string),
  };
}

/** A test file that starts the script's entry as a child process: `tsx <entry>`, or `npm run <script>`. */
function testRuns(name: string): boolean {
  const entry = scripts[name]?.match(/^exec tsx ([\w/.-]+\.ts)$/)?.[1];
  const quotedEntry = entry && new RegExp(`['"\`](?:\\.{1,2}/)*${literal(entry)}['"\`]`);
  const npmRun = new RegExp(`['"]run['"],\\s*(?:['"]-s['"],\\s*)?['"]${literal(name)}['"]`);
  return tests.some(({ text }) => {
    if (npmRun.test(text)) return true;
    const spawns = /\b(?:spawn|spawnSync|execFile|execFileSync|watch)\(/.test(text);
    return Boolean(quotedEntry && spawns && /['"]tsx['"]/.test(text) && quotedEntry.test(text));
  });
}

/**
 * Scripts a test or CI runs: CI by name; a test by starting its entry file; or a vitest script
 * that runs only projects a script CI runs runs too, with nothing else changed but variables that
 * the tests of those projects read (test:soak: test:reliability at full size).
 */
function exercised(name: string): boolean {
  if (ciRuns.has(name) || testRuns(name)) return true;
  const own = vitestScript(name);
  if (!own) return false;
  return [...ciRuns].some((other) => {
    const theirs = vitestScript(other);
    if (!theirs || theirs.variables.length > 0) return false;
    if (!own.projects.every((project) => theirs.projects.includes(project))) return false;
    return own.variables.every((variable) =>
      tests.some(
        ({ file, text }) =>
          own.projects.some((project) => file.startsWith(`test/${project}/`)) &&
          text.includes(`process.env.${variable}`),
      ),
    );
  });
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

  it('count a script as run by CI only on a command line that runs it', () => {
    const run = ciScripts(
      [
        'step "reliability (npm run test:soak for the full size)"',
        '# npm run bench measures them all',
        'npm test',
        '  CHROMIUM_PATH="$(command -v chromium)" npm run test:browser',
        '  timeout 180 npm run demo >/dev/null',
        'BENCH_ONLY=aksk BENCH_RUNS=2 npm run bench >/dev/null',
        'echo "npm $(npm --version)"',
        'npm ci --no-audit',
      ].join('\n'),
    );
    expect([...run].sort()).toEqual(['bench', 'demo', 'test', 'test:browser']);
  });

  it('name only scripts that CI or a test runs', () => {
    const unexercised = [...all.keys()].filter((name) => name in scripts && !exercised(name));
    expect(unexercised).toEqual([]);
  });
});
