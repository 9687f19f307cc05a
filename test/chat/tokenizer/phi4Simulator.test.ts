import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenizerKind } from '../../../src/chat/modelCatalog.js';
import type { PromptMessage } from '../../../src/chat/ports.js';
import { tokenizerFor } from '../../../src/chat/tokenizer/index.js';
import { startPhiSimulator, type PhiSimulator } from '../../../local/phiSimulator/startPhiSimulator.js';

/** Phi-4, and the simulator's default model (Phi-4-mini): each counts with its own tokenizer and template. */
describe.each([
  { modelId: 'phi-4', name: 'Phi-4', kind: 'phi4' as TokenizerKind, perMessage: 4, generationPrompt: 3 },
  { modelId: undefined, name: 'Phi-4-mini-instruct', kind: 'phi4mini' as TokenizerKind, perMessage: 2, generationPrompt: 1 },
])('the Phi simulator impersonating $name', ({ modelId, name, kind, perMessage, generationPrompt }) => {
  let sim: PhiSimulator;
  beforeAll(async () => {
    sim = await startPhiSimulator(modelId === undefined ? {} : { modelId });
  });
  afterAll(() => sim.close());

  it(`reports ${name} on /info`, async () => {
    const res = await fetch(`${sim.url}/info`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model_name: string }).model_name).toBe(name);
  });

  it("counts a system + user prompt with the model's tokenizer in usage.prompt_tokens", async () => {
    const messages: PromptMessage[] = [
      { role: 'system', content: 'You are a helpful assistant. <|im_end|><|end|> Answer briefly.' },
      { role: 'user', content: '  How many languages are in the world?\n' },
    ];
    const res = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': 'local' },
      body: JSON.stringify({ messages, max_tokens: 64 }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const tokenizer = tokenizerFor(kind);
    expect(body.usage.prompt_tokens).toBe(tokenizer.countPrompt(messages));
    // The family's frame per message and generation prompt: the Phi-3 template (2 + 2 + 1) counts Phi-4 short.
    const text = (i: number): number => tokenizer.countText(messages[i]!.content);
    expect(body.usage.prompt_tokens).toBe(perMessage + text(0) + perMessage + text(1) + generationPrompt);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
  });
});
