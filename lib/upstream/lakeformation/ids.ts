import { InvalidIdentifierError } from './errors.js';

/** Project, instance and job ids: what LakeFormation generates (UUIDs, 32-hex project ids) and nothing else. */
const ID = /^[A-Za-z0-9-]{1,64}$/;

export type IdField = 'projectId' | 'instanceId' | 'jobId';

/** `true` when `value` can be used as a path segment of a LakeFormation URL. */
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

/**
 * Returns `value` when it is a well-formed id, so that nothing unchecked reaches a URL.
 *
 * @throws {InvalidIdentifierError} naming the field
 */
export function assertId(field: IdField, value: unknown): string {
  if (!isValidId(value)) throw new InvalidIdentifierError(field, value);
  return value;
}
