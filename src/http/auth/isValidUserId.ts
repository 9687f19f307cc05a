/** Longest caller id accepted from any source (Entra object ids are 36 characters, SWA ids 32). */
export const MAX_USER_ID_CHARS = 128;

// Control, format (zero-width, bidi overrides), lone surrogate and line/paragraph separator characters:
// ids that render identically but differ, or that break logs, are refused rather than stored.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/**
 * Whether a string may be used as a caller id: 1–128 characters, printable, no leading or trailing
 * whitespace. Ids are never trimmed or normalised, since that could merge two users into one.
 */
export function isValidUserId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_USER_ID_CHARS &&
    value.trim() === value &&
    !UNPRINTABLE.test(value)
  );
}
