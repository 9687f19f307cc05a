/**
 * Unicode White_Space, which Rust's `char::is_whitespace` uses: the set Hugging Face's added-token `lstrip` and
 * `rstrip` absorb. Every member is in the BMP, so a UTF-16 code unit is enough to test.
 */
export function isWhiteSpace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x20 ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** The first index at or after `from` that is not white space (`text.length` if none). */
export function skipWhiteSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isWhiteSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The end of `text.slice(floor, to)` with its trailing white space cut, never below `floor`. */
export function trimWhiteSpaceEnd(text: string, floor: number, to: number): number {
  let i = to;
  while (i > floor && isWhiteSpace(text.charCodeAt(i - 1))) i--;
  return i;
}
