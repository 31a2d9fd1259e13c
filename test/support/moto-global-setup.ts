import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startMoto } from '../../local/moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

/** One moto_server for the integration project, on a free port; stopped by PID when the run ends. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const moto = await startMoto();
  project.provide('motoEndpoint', moto.url);
  return () => moto.stop();
}
