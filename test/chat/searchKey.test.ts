import { describe, expect, it } from 'vitest';
import { searchKey } from '../../src/chat/searchKey.js';

const matches = (title: string, query: string) => searchKey(title).includes(searchKey(query));

describe('searchKey: how titles and queries are compared', () => {
  it('ignores case, in every script that has it', () => {
    expect(matches('Planning a Trip', 'TRIP')).toBe(true);
    expect(matches('ΣΟΦΟΣ', 'σοφος')).toBe(true);
    expect(matches('Москва', 'МОСКВА')).toBe(true);
    expect(matches('Straße', 'STRASSE')).toBe(true);
  });

  it('ignores accents: "cafe" finds "Café" and "CAFÉ", "é" finds "e"', () => {
    expect(searchKey('Café')).toBe('cafe');
    expect(searchKey('CAFÉ')).toBe('cafe');
    expect(matches('Crème brûlée recipe', 'creme brulee')).toBe(true);
    expect(matches('Resume tips', 'résumé')).toBe(true);
    expect(matches('İstanbul trip', 'istanbul')).toBe(true);
    expect(matches('Ångström units', 'angstrom')).toBe(true);
  });

  it('gives composed and decomposed input, and full-width letters, the same key', () => {
    expect(searchKey('Cafe\u0301')).toBe(searchKey('Caf\u00e9'));
    expect(searchKey('ＡＢＣ')).toBe('abc');
    expect(searchKey('ﬁle')).toBe('file');
  });

  it('keeps Hangul syllables and kana voicing whole, so a query never matches half a character', () => {
    expect(searchKey('한국어')).toBe('한국어');
    expect(matches('각', '가')).toBe(false);
    expect(matches('がっこう', 'か')).toBe(false);
    expect(matches('東京の天気', '天気')).toBe(true);
  });

  it('still tells different words apart', () => {
    expect(matches('Budget', 'budgie')).toBe(false);
    expect(matches('Kyoto', 'tokyo')).toBe(false);
  });
});
