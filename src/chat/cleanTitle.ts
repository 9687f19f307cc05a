/** The contract's longest title. */
export const TITLE_MAX_CHARS = 80;

/** Quote pairs a model wraps a title in (ASCII, typographic, guillemets, CJK corner brackets). */
const QUOTES: ReadonlyArray<readonly [string, string]> = [
  ['"', '"'], ["'", "'"], ['`', '`'], ['“', '”'], ['„', '“'], ['‘', '’'], ['«', '»'], ['»', '«'], ['「', '」'], ['『', '』'],
];

/** "Title:" and its translations for the languages a model most often answers in, with any markdown around it. */
const LABEL = /^(?:title|titre|título|titulo|titel|titolo|тема|название|标题|タイトル|제목)\s*[:：-]\s*/iu;

// Markdown a model puts around a line: headings, list markers, emphasis at either end (code marks only as quotes).
const MARKDOWN_START = /^(?:#{1,6}(?:\s+|$)|[-*+]\s+|\d+[.)]\s+|>\s*)|^[*_~]+/u;
const MARKDOWN_END = /[*_~]+$/u;

/**
 * The model's answer to a title call as the title stored: its first line that says anything, without markdown,
 * a "Title:" label or the quotes around it, spaces collapsed, a lone final period dropped, at most
 * {@link TITLE_MAX_CHARS} characters (UTF-16 units, so never more code points), cut at the last space when that
 * keeps at least half of it, else inside the word but never inside a surrogate pair. null when nothing is left:
 * then no title is stored.
 */
export function cleanTitle(raw: string): string | null {
  for (const line of raw.split(/\r\n|\r|\n|\u2028|\u2029/)) {
    const title = cleanLine(line);
    if (title) return shorten(title);
  }
  return null;
}

function cleanLine(line: string): string {
  // eslint-disable-next-line no-control-regex
  let text = line.replace(/[\u0000-\u001F\u007F]/g, ' ').replace(/\s+/gu, ' ').trim();
  for (let previous = ''; previous !== text;) {
    previous = text;
    text = text.replace(MARKDOWN_START, '').replace(MARKDOWN_END, '').replace(LABEL, '').trim();
    text = unquoted(text);
  }
  return text.replace(/(?<!\.)\.$/u, '').trim();
}

function unquoted(text: string): string {
  for (const [open, close] of QUOTES) {
    if (text.length < open.length + close.length || !text.startsWith(open) || !text.endsWith(close)) continue;
    const inner = text.slice(open.length, text.length - close.length);
    // `"Tea" vs "Coffee"` starts and ends with a quote without being quoted as a whole.
    if (!inner.includes(open) && !inner.includes(close)) return inner.trim();
  }
  return text;
}

function shorten(title: string): string | null {
  if (title.length <= TITLE_MAX_CHARS) return title;
  let head = title.slice(0, TITLE_MAX_CHARS);
  if (!head.isWellFormed()) head = head.slice(0, -1);
  // The cut falls between words when the next character starts one.
  const cutAtSpace = /\s/u.test(title.charAt(head.length)) ? head.length : head.search(/\s\S*$/u);
  const cut = cutAtSpace >= TITLE_MAX_CHARS / 2 ? head.slice(0, cutAtSpace) : head;
  return cut.replace(/[\s,;:–—-]+$/u, '') || null;
}
