import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The import rules of eslint.config.js, run through ESLint's own API on planted files (nothing is written). */
const eslint = new ESLint();

async function importRuleMessages(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the import rules', () => {
  it.each([
    ['src/chat/tokenizer/planted.ts', "import type { MessageDocument } from '../../store/documents.js';"],
    ['src/chat/planted.ts', "import { CosmosUsageLedger } from '../store/CosmosUsageLedger.js';"],
    ['src/chat/tokenizer/planted.ts', "import { problemResponse } from '../../http/problem.js';"],
    ['src/chat/planted.ts', "import { loadConfig } from '../config.js';"],
    ['src/chat/tokenizer/planted.ts', "import { services } from '../../app.js';"],
  ])('keep adapters out of the core at any depth: %s importing %s', async (filePath, code) => {
    const messages = await importRuleMessages(code, filePath);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/is restricted from being used by a pattern\. The core never imports an adapter\.$/);
  });

  it.each([
    ['src/http/planted.ts', "import { startEmbeddedCosmos } from '../../local/embeddedCosmos.js';"],
    ['src/planted.ts', "import { startPhiSimulator } from '../local/phiSimulator/startPhiSimulator.js';"],
    ['src/chat/tokenizer/planted.ts', "import { createLocalHost } from '../../../local/host/index.js';"],
  ])('keep local/ out of src at any depth: %s importing %s', async (filePath, code) => {
    const messages = await importRuleMessages(code, filePath);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/is restricted from being used by a pattern\. src\/ never imports local\//);
  });

  it.each([
    ['src/chat/tokenizer/planted.ts', "import { findModel } from '../modelCatalog.js';"],
    ['src/chat/planted.ts', "import { NotFoundError } from './errors.js';"],
    ['src/http/planted.ts', "import { loadConfig } from '../config.js';"],
    ['test/planted.ts', "import { startEmbeddedCosmos } from '../local/embeddedCosmos.js';"],
  ])('let a legal import through: %s importing %s', async (filePath, code) => {
    expect(await importRuleMessages(code, filePath)).toEqual([]);
  });
});
