import { describe, expect, it } from 'vitest';
import { cleanTitle, TITLE_MAX_CHARS } from '../../src/chat/cleanTitle.js';

describe('cleanTitle: what a title call answered, as the title stored', () => {
  it.each([
    ['Planning a trip to Kyoto', 'Planning a trip to Kyoto'],
    ['  "Planning a trip to Kyoto"  ', 'Planning a trip to Kyoto'],
    ["'Budget spreadsheet help'", 'Budget spreadsheet help'],
    ['“Recette de crêpes”', 'Recette de crêpes'],
    ['„Urlaub in Italien“', 'Urlaub in Italien'],
    ['«Voyage à Lisbonne»', 'Voyage à Lisbonne'],
    ['「東京の天気」', '東京の天気'],
    ['Title: Fixing a React build', 'Fixing a React build'],
    ['title - Fixing a React build', 'Fixing a React build'],
    ['**Title:** "Fixing a React build"', 'Fixing a React build'],
    ['Titre : Recette de crêpes', 'Recette de crêpes'],
    ['# Kubernetes pod restarts', 'Kubernetes pod restarts'],
    ['## **Kubernetes pod restarts**', 'Kubernetes pod restarts'],
    ['- Kubernetes pod restarts', 'Kubernetes pod restarts'],
    ['`npm ci` failing on Windows', '`npm ci` failing on Windows'],
    ['Explaining photosynthesis.', 'Explaining photosynthesis'],
    ['Wait for it...', 'Wait for it...'],
    ['Is Pluto a planet?', 'Is Pluto a planet?'],
    ['"Tea" vs "Coffee"', '"Tea" vs "Coffee"'],
    ['Rust   lifetimes\texplained', 'Rust lifetimes explained'],
  ])('%j → %j', (raw, title) => {
    expect(cleanTitle(raw)).toBe(title);
  });

  it('keeps one line: the first that says anything, past a bare label or blank lines', () => {
    expect(cleanTitle('\n\nSorting algorithms\nThis conversation is about sorting.')).toBe('Sorting algorithms');
    expect(cleanTitle('Title:\n"Sorting algorithms"')).toBe('Sorting algorithms');
    expect(cleanTitle('Sorting\r\nalgorithms')).toBe('Sorting');
  });

  it('is null when nothing is left, so nothing is stored', () => {
    for (const raw of ['', '   ', '\n\n', '""', '“ ”', '**', 'Title:', '# ', '.']) expect(cleanTitle(raw), JSON.stringify(raw)).toBeNull();
  });

  it(`cuts a long title to ${TITLE_MAX_CHARS} characters at a word boundary`, () => {
    const words = 'A remarkably long title about the migration of a monolithic application to microservices on Azure';
    const title = cleanTitle(words)!;
    expect(title.length).toBeLessThanOrEqual(TITLE_MAX_CHARS);
    expect(words.startsWith(title)).toBe(true);
    expect(words.charAt(title.length)).toBe(' ');
    expect(title).toBe('A remarkably long title about the migration of a monolithic application to');
  });

  it('cuts exactly at the limit when a word ends there, and drops a dangling separator', () => {
    const exact = `${'x'.repeat(TITLE_MAX_CHARS)} tail`;
    expect(cleanTitle(exact)).toBe('x'.repeat(TITLE_MAX_CHARS));
    expect(cleanTitle(`${'word '.repeat(14)}and, more words to follow`)!.endsWith(',')).toBe(false);
  });

  it('cuts inside a word only when no space keeps half of it, never inside a surrogate pair', () => {
    const unbroken = 'x'.repeat(79) + '😀😀';
    const title = cleanTitle(unbroken)!;
    expect(title).toBe('x'.repeat(79));
    expect(title.isWellFormed()).toBe(true);
    const cjk = '日本語'.repeat(40);
    expect(cleanTitle(cjk)).toBe(cjk.slice(0, TITLE_MAX_CHARS));
  });
});
