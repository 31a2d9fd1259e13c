import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** `npm run preflight` as a user runs it: `tsx scripts/preflight.ts`, its own `serverless print` included. */
function preflight(args: string[], cwd = process.cwd()) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/preflight.ts', ...args],
      { cwd, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' } },
      (error, stdout, stderr) => done({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

/** The checkout's files, copied into a folder whose path has a space (a URL spells it %20). */
const spacedRoot = mkdtempSync(join(tmpdir(), 'preflight-'));
afterAll(() => rmSync(spacedRoot, { recursive: true, force: true }));

function spacedCheckout(): string {
  const folder = join(spacedRoot, 'lf job stopper');
  const files = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' }).split('\0');
  for (const file of files.filter((name) => name !== '' && existsSync(name))) {
    mkdirSync(dirname(join(folder, file)), { recursive: true });
    cpSync(file, join(folder, file));
  }
  symlinkSync(resolve('node_modules'), join(folder, 'node_modules'));
  return folder;
}

describe('npm run preflight (the script itself)', () => {
  it('refuses the dev stage, whose required params are empty, with exit code 1', async () => {
    const { code, stdout } = await preflight(['--stage', 'dev']);
    expect(stdout).toContain('preflight of stage dev (AWS region eu-west-1)');
    expect(stdout).toContain(
      '!! configuration: LAKEFORMATION_PROJECT_ID: is required (serverless.yml: params.dev.projectId)',
    );
    expect(stdout).toContain('1 check(s) failed, 3 not checked: not ready to deploy');
    expect(code).toBe(1);
  }, 60_000);

  it('reads serverless.yml from a folder whose path has a space', async () => {
    const { code, stdout, stderr } = await preflight(['--stage', 'dev'], spacedCheckout());
    expect(stderr).not.toContain('could not be read');
    expect(stdout).toContain(
      '!! configuration: LAKEFORMATION_PROJECT_ID: is required (serverless.yml: params.dev.projectId)',
    );
    expect(code).toBe(1);
  }, 60_000);

  it('prints its usage on stdout with --help, and nothing else', async () => {
    const { code, stdout, stderr } = await preflight(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: npm run preflight -- --stage <stage> /);
    expect(stderr).toBe('');
  });

  it('refuses an unknown flag with exit code 2 and no stack trace', async () => {
    const { code, stdout, stderr } = await preflight(['--bogus']);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe("error: Unknown option '--bogus'");
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).toBe('');
  });
});
