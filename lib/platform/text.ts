/**
 * Whether `value` is a string of at most `max` characters, counted as JSON Schema's `maxLength`
 * counts them: code points, so an emoji is one character, not two UTF-16 units.
 */
export function isTextUpTo(value: unknown, max: number): value is string {
  if (typeof value !== 'string') return false;
  if (value.length <= max) return true; // no string has more code points than UTF-16 units
  let count = 0;
  for (const _ of value) if (++count > max) return false;
  return true;
}
