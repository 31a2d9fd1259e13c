import { readFile } from 'node:fs/promises';
import { type BuildOptions, build } from 'esbuild';
import { load } from 'js-yaml';

/** The functions' handler files, by their serverless.yml names. */
export const FUNCTION_SOURCES = {
  stopJob: 'functions/stop-job.ts',
  bulkStop: 'functions/bulk-stop.ts',
  stopStaleJobs: 'functions/stop-stale-jobs.ts',
} as const;

const ROOT = new URL('../', import.meta.url);

/**
 * Bundles `entries` (name → source file) into `outdir` with exactly the `custom.esbuild` options of
 * serverless.yml, as `serverless package` does, without source maps. Returns each bundle's path and size.
 */
export async function buildBundles(
  outdir: string,
  entries: Record<string, string> = FUNCTION_SOURCES,
): Promise<Record<string, { file: string; bytes: number }>> {
  // Only the `custom:` block: the rest holds CloudFormation tags (!Ref, …) that plain YAML does not know.
  const text = await readFile(new URL('serverless.yml', ROOT), 'utf8');
  const custom = /^custom:\n(?:(?: .*)?\n)+/m.exec(text)?.[0] ?? '';
  const config = load(custom) as { custom: { esbuild: Record<string, unknown> } };
  const { outputFileExtension, exclude, ...esbuild } = config.custom.esbuild;
  const extension = String(outputFileExtension ?? '.mjs');
  const result = await build({
    ...(esbuild as BuildOptions),
    absWorkingDir: ROOT.pathname,
    sourcemap: false,
    entryPoints: entries,
    outdir,
    outExtension: { '.js': extension },
    external: (exclude as string[] | undefined) ?? [],
    metafile: true,
    logLevel: 'warning',
  });
  const bundles: Record<string, { file: string; bytes: number }> = {};
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    const name = file.split('/').pop()?.slice(0, -extension.length) ?? file;
    bundles[name] = { file: `${outdir.replace(/\/$/, '')}/${name}${extension}`, bytes: output.bytes };
  }
  return bundles;
}
