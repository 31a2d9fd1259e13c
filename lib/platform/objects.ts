/**
 * Whether `value` is a JSON object: not `null`, not an array. What a parsed body, message, secret or
 * policy must be before its fields are read.
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
