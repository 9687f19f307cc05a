import { describe, expect, it } from 'vitest';
import { exportFormatOf } from '../../src/http/exportFormat.js';

describe('exportFormatOf', () => {
  it.each([
    [null, 'json'],
    ['', 'json'],
    ['application/json', 'json'],
    ['*/*', 'json'],
    ['text/markdown', 'markdown'],
    ['TEXT/Markdown; charset=utf-8', 'markdown'],
    ['text/*', 'markdown'],
    ['text/markdown, application/json', 'json'],
    ['text/markdown;q=0.9, application/json;q=0.5', 'markdown'],
    ['application/json;q=0.2, text/markdown', 'markdown'],
    ['text/markdown;q=0.5, */*;q=0.9', 'json'],
    ['text/markdown;q=0', 'json'],
    ['text/markdown;q=bogus', 'json'],
    ['text/html', 'json'],
    ['application/xml, image/png', 'json'],
  ])('Accept %j → %s', (accept, format) => {
    expect(exportFormatOf(accept)).toBe(format);
  });
});
