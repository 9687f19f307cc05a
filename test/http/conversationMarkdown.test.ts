import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/chat/conversation.js';
import { conversationMarkdown, markdownMessage, markdownTitle, openBlockCloser } from '../../src/http/conversationMarkdown.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');

function message(role: Message['role'], content: string, extra: Partial<Message> = {}): Message {
  return {
    id: 'm_AAAAAAAAAAAAAAAAAAAAAa', conversationId: 'c_AAAAAAAAAAAAAAAAAAAAAA', userId: 'u', role, content, status: 'complete',
    createdAt: '2026-06-01T11:00:00.000Z', tokenCount: 1, seq: 1, turnId: 't_x', ...extra,
  };
}

async function collect(chunks: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const chunk of chunks) text += chunk;
  return text;
}

async function* pagesOf(...pages: Message[][]): AsyncIterable<readonly Message[]> {
  yield* pages;
}

describe('openBlockCloser', () => {
  it.each([
    ['plain text', 'Hello', null],
    ['a closed fence', '```js\nx()\n```', null],
    ['an open backtick fence', 'Here:\n```ts\nconst x = 1;', '```'],
    ['an open longer fence, a shorter line inside it', '`````\n```\nstill code', '`````'],
    ['a fence closed by a longer one, indented', '```\ncode\n  `````  ', null],
    ['an open tilde fence (backticks do not close it)', '~~~~ py\nprint(1)\n```', '~~~~'],
    ['a backtick line whose info has a backtick is no fence', '``` a `b`\ntext', null],
    ['an indented fence (maybe in a list item) is left alone', '- item\n  ```\n  code', null],
    ['an open HTML comment', 'text\n<!-- note', '-->'],
    ['a closed HTML comment on one line', '<!-- note -->\nafter', null],
    ['an open pre block', '<pre>\nraw', '</pre>'],
    ['a pre block closed later', '<PRE class="x">\nraw\n</pre> done', null],
    ['an open script block', '<script>\nlet a', '</script>'],
    ['an open processing instruction', '<?php\necho 1;', '?>'],
    ['an open declaration', '<!DOCTYPE html', '>'],
    ['an open CDATA section', '<![CDATA[\nx', ']]>'],
    ['a fence inside an open comment is not a fence', '<!--\n```\n-->', null],
    ['a comment opener inside a fence is code', '```\n<!--\n```', null],
    ['CRLF line ends', '```\r\ncode\r\n```\r\n', null],
  ])('%s', (_name, content, closer) => {
    expect(openBlockCloser(content)).toBe(closer);
  });
});

describe('markdownTitle', () => {
  it('is one H1 line: line breaks as spaces, a final # escaped, a blank title named', () => {
    expect(markdownTitle('Trip\nto  Rome')).toBe('# Trip to Rome\n');
    expect(markdownTitle('Learning C#')).toBe('# Learning C\\#\n');
    expect(markdownTitle('  ')).toBe('# Untitled\n');
  });
});

describe('markdownMessage', () => {
  it('gives the role a heading and the content verbatim, one blank line around it', () => {
    expect(markdownMessage(message('user', 'Hi **there**'), NOW)).toBe('\n## User\n\nHi **there**\n');
    expect(markdownMessage(message('assistant', '# A heading of its own\n\n## User\n'), NOW)).toBe('\n## Assistant\n\n# A heading of its own\n\n## User\n');
  });

  it('closes a block the content leaves open, after the content', () => {
    expect(markdownMessage(message('assistant', 'Code:\n```py\nprint(1)', { status: 'incomplete', finishReason: 'cancelled' }), NOW))
      .toBe('\n## Assistant (incomplete: cancelled)\n\nCode:\n```py\nprint(1)\n```\n');
  });

  it('says the status of a reply that is not complete, with its error or finish reason', () => {
    const failed = message('assistant', '', { status: 'failed', error: { code: 'upstream_error', detail: 'x' }, finishReason: null });
    expect(markdownMessage(failed, NOW)).toBe('\n## Assistant (failed: upstream_error)\n');
    expect(markdownMessage(message('assistant', 'Par', { status: 'filtered', finishReason: 'content_filter' }), NOW)).toBe('\n## Assistant (filtered: content_filter)\n\nPar\n');
    expect(markdownMessage(message('assistant', 'Long', { finishReason: 'length' }), NOW)).toBe('\n## Assistant\n\nLong\n');
  });

  it('shows a streaming reply past its lease as the lost reply it is, and one within it as streaming', () => {
    const lost = message('assistant', 'So far', { status: 'streaming', leaseUntil: '2026-06-01T11:59:00.000Z' });
    expect(markdownMessage(lost, NOW)).toBe('\n## Assistant (incomplete: instance_lost)\n\nSo far\n');
    const live = message('assistant', 'So far', { status: 'streaming', leaseUntil: '2026-06-01T12:01:00.000Z' });
    expect(markdownMessage(live, NOW)).toBe('\n## Assistant (streaming)\n\nSo far\n');
  });
});

describe('conversationMarkdown', () => {
  it('is the title and then every message of every page, in order', async () => {
    const text = await collect(conversationMarkdown('Chat', pagesOf([message('user', 'one'), message('assistant', 'two\n')], [message('user', 'three')]), NOW));
    expect(text).toBe('# Chat\n\n## User\n\none\n\n## Assistant\n\ntwo\n\n## User\n\nthree\n');
  });

  it('is only the title for an empty branch', async () => {
    expect(await collect(conversationMarkdown('Empty', pagesOf(), NOW))).toBe('# Empty\n');
  });
});
