import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_ID, MODEL_CATALOG } from '../../src/chat/modelCatalog.js';

/** The README's model table, row by row: id, context window, max output, system messages, Azure serverless. */
function readmeModels(): string[][] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Models\n'), readme.indexOf('\n## Settings\n'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2) // the header and its rule
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

describe('the model catalog', () => {
  it('says for every model whether Azure serverless sells it, with the retirement date when it does not', () => {
    for (const m of MODEL_CATALOG.values()) {
      const retired = m.id.startsWith('phi-3');
      expect(m.azureServerless, m.id).toEqual(retired ? { status: 'retired', retiredOn: '2025-08-30' } : { status: 'available', retiredOn: null });
    }
    expect(MODEL_CATALOG.get(DEFAULT_MODEL_ID)?.azureServerless.status).toBe('available');
  });

  it("is what the README's model table says", () => {
    const n = (x: number): string => x.toLocaleString('en-US');
    const byId = (a: string[], b: string[]): number => (a[0] as string).localeCompare(b[0] as string);
    expect(readmeModels().map((r) => r.slice(0, 4).concat(r[5] as string)).sort(byId)).toEqual(
      [...MODEL_CATALOG.values()]
        .map((m) => [
          `\`${m.id}\`${m.id === DEFAULT_MODEL_ID ? ' (default)' : ''}`, n(m.contextWindow), n(m.maxOutputTokens),
          m.supportsSystemMessages ? 'yes' : 'folded into the first user turn',
          m.azureServerless.status === 'retired' ? `retired ${m.azureServerless.retiredOn}` : 'available',
        ])
        .sort(byId),
    );
  });
});
