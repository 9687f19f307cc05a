import { asSeen, type Message } from '../chat/conversation.js';

/**
 * The raw-HTML blocks of CommonMark (kinds 1–5) that run to an end marker rather than to a blank line: content that
 * leaves one open would swallow every heading after it.
 */
const HTML_BLOCKS: readonly { readonly start: RegExp; readonly end: RegExp; readonly closer: (tag: string) => string }[] = [
  { start: /^<(pre|script|style|textarea)(?=[\s>]|$)/i, end: /<\/(pre|script|style|textarea)>/i, closer: (tag) => `</${tag.toLowerCase()}>` },
  { start: /^<!--/, end: /-->/, closer: () => '-->' },
  { start: /^<\?/, end: /\?>/, closer: () => '?>' },
  { start: /^<![A-Za-z]/, end: />/, closer: () => '>' },
  { start: /^<!\[CDATA\[/, end: /\]\]>/, closer: () => ']]>' },
];

/** A fence that opens a code block at the start of a line (a backtick fence's info string has no backtick). */
const FENCE = /^(`{3,}(?=[^`]*$)|~{3,})/;

/**
 * The line that closes what `content` leaves open at its end (a fenced code block or a raw-HTML block, as a reply
 * cut off by a stop often does), or null. Only blocks opened at the start of a line are considered: indented, they
 * may belong to a list item, which the next heading ends anyway (and a closer there would open a new block).
 */
export function openBlockCloser(content: string): string | null {
  let open: { readonly ends: (line: string) => boolean; readonly closer: string } | null = null;
  for (const line of content.split(/\r\n|\r|\n/)) {
    if (open) {
      if (open.ends(line)) open = null;
      continue;
    }
    const fence = FENCE.exec(line)?.[1];
    if (fence) {
      const closing = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`);
      open = { ends: (l) => closing.test(l), closer: fence };
      continue;
    }
    for (const block of HTML_BLOCKS) {
      const start = block.start.exec(line);
      if (!start) continue;
      if (!block.end.test(line.slice(start[0].length))) open = { ends: (l) => block.end.test(l), closer: block.closer(start[1] ?? '') };
      break;
    }
  }
  return open?.closer ?? null;
}

/** `(status)` or `(status: why)` after the role of a reply that is not `complete`. */
function statusNote(m: Message): string {
  if (m.status === 'complete') return '';
  const why = m.error?.code ?? (m.finishReason && m.finishReason !== 'stop' ? m.finishReason : undefined);
  return ` (${m.status}${why ? `: ${why}` : ''})`;
}

/** The title as one H1 line: line breaks as spaces, and a final `#` escaped (it would read as a closing sequence). */
export function markdownTitle(title: string): string {
  const line = title.replace(/\s+/g, ' ').trim() || 'Untitled';
  return `# ${line.replace(/#$/, '\\#')}\n`;
}

/**
 * One message: a blank line, `## User` or `## Assistant` (with its status when not complete), a blank line, and the
 * content exactly as stored, followed by a closing line only where the content leaves a block open.
 */
export function markdownMessage(message: Message, now: Date): string {
  const m = asSeen(message, now);
  const heading = `\n## ${m.role === 'user' ? 'User' : 'Assistant'}${statusNote(m)}\n`;
  if (m.content === '') return heading;
  const closer = openBlockCloser(m.content);
  const body = /(\r\n|\r|\n)$/.test(m.content) ? m.content : `${m.content}\n`;
  return `${heading}\n${body}${closer === null ? '' : `${closer}\n`}`;
}

/** A conversation's branch as Markdown, a chunk per page: the title, then each message. */
export async function* conversationMarkdown(title: string, pages: AsyncIterable<readonly Message[]>, now: Date): AsyncIterable<string> {
  yield markdownTitle(title);
  for await (const page of pages) yield page.map((m) => markdownMessage(m, now)).join('');
}
