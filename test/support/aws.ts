import { inject } from 'vitest';

/** Points every AWS SDK client created from now on at the suite's moto server. */
export function useMoto(): string {
  const endpoint = inject('motoEndpoint');
  process.env.AWS_ENDPOINT_URL = endpoint;
  return endpoint;
}

/** A name no other test file uses, so files can share one moto server. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
