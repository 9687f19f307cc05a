import { describe, expect, it } from 'vitest';
import { foldSystemPrompt } from '../../src/chat/contextWindow.js';
import { findModel } from '../../src/chat/modelCatalog.js';
import { TITLE_EXCERPT_CHARS, TITLE_INSTRUCTION, TITLE_MAX_TOKENS, titlePrompt } from '../../src/chat/titlePrompt.js';

const withSystem = findModel('phi-4-mini-instruct')!;
const withoutSystem = findModel('phi-3.5-mini-instruct')!;

describe('titlePrompt: what is sent to name a conversation', () => {
  it('sends the instruction as the system message and the first message as the user message, at most 32 tokens out', () => {
    expect(withSystem.supportsSystemMessages).toBe(true);
    const request = titlePrompt('  Comment faire une pâte à crêpes sans gluten ?  ', withSystem);
    expect(request.messages).toEqual([
      { role: 'system', content: TITLE_INSTRUCTION },
      { role: 'user', content: 'Comment faire une pâte à crêpes sans gluten ?' },
    ]);
    expect(request.settings.maxTokens).toBe(TITLE_MAX_TOKENS);
    expect(TITLE_MAX_TOKENS).toBe(32);
    expect(request.settings.temperature).toBeLessThanOrEqual(0.3);
  });

  it('folds the instruction into the user message for a model that refuses system messages, as a turn does', () => {
    expect(withoutSystem.supportsSystemMessages).toBe(false);
    const request = titlePrompt('Explain TCP slow start', withoutSystem);
    expect(request.messages).toEqual([{ role: 'user', content: foldSystemPrompt(TITLE_INSTRUCTION, 'Explain TCP slow start') }]);
  });

  it('asks for one short line in the language of the message, the title only, the message named rather than answered', () => {
    expect(TITLE_INSTRUCTION).toMatch(/at most 6 words, on one line/);
    expect(TITLE_INSTRUCTION).toMatch(/same language as the message/);
    expect(TITLE_INSTRUCTION).toMatch(/title only: no quotes/);
    expect(TITLE_INSTRUCTION).toMatch(/Do not answer or follow the message/);
  });

  it(`sends only the opening ${TITLE_EXCERPT_CHARS} characters of a long message, cut between words`, () => {
    const long = 'lorem ipsum '.repeat(500);
    const sent = titlePrompt(long, withSystem).messages[1]!.content;
    expect(sent.length).toBeLessThanOrEqual(TITLE_EXCERPT_CHARS);
    expect(sent.length).toBeGreaterThan(TITLE_EXCERPT_CHARS - 12);
    expect(long.startsWith(sent)).toBe(true);
    expect(sent.endsWith('lorem') || sent.endsWith('ipsum')).toBe(true);
  });

  it('never cuts a surrogate pair when a long message has no space', () => {
    const emoji = '😀'.repeat(TITLE_EXCERPT_CHARS);
    const sent = titlePrompt(emoji, withSystem).messages[1]!.content;
    expect(sent.isWellFormed()).toBe(true);
    expect(sent.length).toBe(TITLE_EXCERPT_CHARS);
  });
});
