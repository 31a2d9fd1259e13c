import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Which folder may import which (docs/architecture.md): a module may import the modules of the
 * folders its rule lists. In a list, `.` is the module's own folder, `x/` is x and every folder under
 * it, `x` is that folder alone. A key `x/*` is the rule of every folder under x. The longest key that
 * holds a module's folder is its rule. Folders without one (test/, bench/, local/ apart from the
 * emulator) are not restricted; a module of lib/ without one is refused.
 */
export const RULES: Readonly<Record<string, readonly string[]>> = {
  'lib/platform': ['.'],
  'lib/upstream/transport': ['.', 'lib/platform'],
  'lib/upstream/aws': ['.', 'lib/platform'],
  'lib/upstream/huawei': ['.', 'lib/upstream/transport', 'lib/upstream/aws', 'lib/platform'],
  'lib/upstream/lakeformation': ['.', 'lib/upstream/huawei', 'lib/upstream/transport', 'lib/platform'],
  'lib/domain': ['.', 'lib/upstream/', 'lib/platform'],
  // a part of the domain (reaper/, …) builds on its root files, never on another part
  'lib/domain/*': ['.', 'lib/domain', 'lib/upstream/', 'lib/platform'],
  'lib/edge/middleware': ['.', 'lib/domain/', 'lib/upstream/', 'lib/platform'],
  'lib/edge/http': ['.', 'lib/edge/middleware', 'lib/domain/', 'lib/upstream/', 'lib/platform'],
  'lib/edge/queue': ['.', 'lib/edge/middleware', 'lib/domain/', 'lib/upstream/', 'lib/platform'],
  'lib/container': ['.', 'lib/'],
  // handlers never import each other: each is its own bundle, with its own module-scope wiring
  functions: ['lib/container', 'lib/edge/', 'lib/domain/', 'lib/platform'],
  cli: ['.', 'lib/domain/', 'lib/upstream/', 'lib/platform'],
  // a test double that reused the product's code would agree with any bug of it
  'local/emulator': ['.', 'local'],
};

/** The folders whose modules the rules are about. */
const ROOTS = ['lib', 'functions', 'cli', 'local/emulator'];

function holds(key: string, dir: string): boolean {
  if (key.endsWith('/*')) return dir.startsWith(key.slice(0, -1));
  return dir === key || dir.startsWith(`${key}/`);
}

function ruleOf(dir: string): string | undefined {
  let best: string | undefined;
  for (const key of Object.keys(RULES)) {
    if (holds(key, dir) && key.length > (best?.length ?? -1)) best = key;
  }
  return best;
}

function allows(allowed: readonly string[], from: string, dir: string): boolean {
  return allowed.some((entry) =>
    entry === '.' ? dir === from : entry.endsWith('/') ? `${dir}/`.startsWith(entry) : dir === entry,
  );
}

/**
 * The one module of lib/ that may hold module-scope state: every client and cache a container keeps
 * is a cell of it (containerCell), so that one reset drops them all.
 */
const STATE_HOLDER = 'lib/platform/container-state.ts';

/** Collections that are filled as the process runs; a module-scope one is state, whatever its name. */
const MUTABLE_COLLECTION = /^(?:Map|WeakMap)$/;

/**
 * Module-scope state in `text`: a top-level `let` or `var`, or a top-level `const` holding a new
 * `Map` or `WeakMap`. (A constant lookup `Set`, a frozen table or a keep-alive agent is not state a
 * test must reset.)
 */
function moduleState(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const { flags, declarations } = statement.declarationList;
    const constant = (flags & ts.NodeFlags.Const) !== 0;
    for (const declaration of declarations) {
      const init = declaration.initializer;
      const collection =
        init !== undefined &&
        ts.isNewExpression(init) &&
        ts.isIdentifier(init.expression) &&
        MUTABLE_COLLECTION.test(init.expression.text);
      if (!constant || collection) found.push(declaration.name.getText(source));
    }
  }
  return found;
}

/** Every module a file imports or re-exports by a relative path, `import type` and `import()` included. */
function relativeImports(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((file) => file.fileName)
    .filter((name) => name.startsWith('./') || name.startsWith('../'));
}

/**
 * Every import against {@link RULES}, every module of lib/ outside a layer, and every module of lib/
 * that holds module-scope state outside a container cell. `files` maps repository-relative,
 * `/`-separated paths to their text.
 */
export function violations(files: Readonly<Record<string, string>>): string[] {
  const found: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const key = ruleOf(posix.dirname(file));
    if (file.startsWith('lib/') && file !== STATE_HOLDER) {
      for (const name of moduleState(file, text)) {
        found.push(
          `${file}: ${name} is module-scope state; make it a containerCell (lib/platform/container-state.ts)`,
        );
      }
    }
    if (key === undefined) {
      if (file.startsWith('lib/')) found.push(`${file}: not in a layer of lib/ (docs/architecture.md)`);
      continue;
    }
    const allowed = RULES[key] ?? [];
    const from = posix.dirname(file);
    for (const specifier of relativeImports(text)) {
      const target = posix.normalize(posix.join(from, specifier));
      if (!allows(allowed, from, posix.dirname(target))) {
        const may =
          allowed.map((entry) => (entry === '.' ? 'its own folder' : entry)).join(', ') || 'nothing';
        found.push(`${file} imports ${target}: a module of ${key} may import only from ${may}`);
      }
    }
  }
  return found;
}

/** The modules the rules are about, read from the working tree under `root`. */
export function readTree(root = fileURLToPath(new URL('..', import.meta.url))): Record<string, string> {
  const files: Record<string, string> = {};
  for (const dir of ROOTS) {
    for (const name of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (!/\.(?:ts|mjs|js)$/.test(name)) continue;
      const path = join(root, dir, name);
      files[relative(root, path).split(sep).join('/')] = readFileSync(path, 'utf8');
    }
  }
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const found = violations(readTree());
  for (const line of found) process.stderr.write(`${line}\n`);
  if (found.length > 0) {
    process.stderr.write(`${found.length} finding(s) against the one-way rule (docs/architecture.md)\n`);
    process.exitCode = 1;
  }
}
