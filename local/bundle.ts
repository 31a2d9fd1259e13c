import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { load } from 'js-yaml';
import { CFN_SCHEMA } from './ledger-table.js';

/** The functions' handler files, by their serverless.yml names. */
export const FUNCTION_SOURCES = {
  stopJob: 'functions/stop-job.ts',
  readStops: 'functions/read-stops.ts',
  confirmStops: 'functions/confirm-stops.ts',
  bulkStop: 'functions/bulk-stop.ts',
  stopStaleJobs: 'functions/stop-stale-jobs.ts',
} as const;

const ROOT = new URL('../', import.meta.url);

/**
 * One top-level block of serverless.yml (`custom`, `params`), parsed on its own, CloudFormation's
 * short-form tags (!Ref, …) read as their long form.
 */
async function serverlessBlock<T>(name: string): Promise<T> {
  const text = await readFile(new URL('serverless.yml', ROOT), 'utf8');
  const block = new RegExp(`^${name}:\\n(?:(?: .*)?\\n)+`, 'm').exec(text)?.[0] ?? '';
  return (load(block, { schema: CFN_SCHEMA }) as Record<string, T>)[name] as T;
}

/** The `NODE_OPTIONS` the functions are deployed with by default (`params.default.nodeOptions`). */
export async function deployedNodeOptions(): Promise<string> {
  const params = await serverlessBlock<{ default?: { nodeOptions?: string } }>('params');
  return params.default?.nodeOptions ?? '';
}

/**
 * Bundles `entries` (name → source file) into `outdir` with exactly the `custom.esbuild` options of
 * serverless.yml, as `serverless package` does. Returns each bundle's path and size.
 */
export async function buildBundles(
  outdir: string,
  entries: Record<string, string> = FUNCTION_SOURCES,
): Promise<Record<string, { file: string; bytes: number }>> {
  const custom = await serverlessBlock<{ esbuild: Record<string, unknown> }>('custom');
  const { outputFileExtension, exclude, ...esbuild } = custom.esbuild;
  // a `${param:…}` is the deployed stages' value (params.default)
  const param = /^\$\{param:(\w+)\}$/.exec(String(outputFileExtension))?.[1];
  const defaults = param
    ? (await serverlessBlock<{ default?: Record<string, unknown> }>('params')).default
    : {};
  const extension = String((param ? defaults?.[param] : outputFileExtension) ?? '.mjs');
  const result = await build({
    ...(esbuild as BuildOptions),
    absWorkingDir: fileURLToPath(ROOT),
    entryPoints: entries,
    outdir,
    outExtension: { '.js': extension },
    external: (exclude as string[] | undefined) ?? [],
    metafile: true,
    logLevel: 'warning',
  });
  const bundles: Record<string, { file: string; bytes: number }> = {};
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (!file.endsWith(extension)) continue; // source maps
    const name = file.split('/').pop()?.slice(0, -extension.length) ?? file;
    bundles[name] = { file: `${outdir.replace(/\/$/, '')}/${name}${extension}`, bytes: output.bytes };
  }
  return bundles;
}
