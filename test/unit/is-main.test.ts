import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isMain } from '../../cli/is-main.js';

const dir = mkdtempSync(join(tmpdir(), 'lf stop '));
const script = join(dir, 'script.ts');
const other = join(dir, 'other.ts');
const link = join(dir, 'linked script.ts');
writeFileSync(script, '');
writeFileSync(other, '');
symlinkSync(script, link);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Function: isMain()', () => {
  it('recognises the started script in a folder whose name has spaces', () => {
    expect(pathToFileURL(script).href).toContain('%20');
    expect(isMain(pathToFileURL(script).href, script)).toBe(true);
  });

  it('recognises a script started through a symlink, which Node runs from its target', () => {
    expect(isMain(pathToFileURL(script).href, link)).toBe(true);
  });

  it.each([
    ['another script', other],
    ['a path that does not exist', join(dir, 'gone.ts')],
    ['no script at all (a REPL)', undefined],
  ])('is false for %s', (_name, started) => {
    expect(isMain(pathToFileURL(script).href, started)).toBe(false);
  });
});
