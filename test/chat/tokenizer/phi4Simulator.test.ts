import { afterAll, describe, expect, it } from 'vitest';
import type { PromptMessage } from '../../../src/chat/ports.js';
import { tokenizerFor } from '../../../src/chat/tokenizer/index.js';
import { startPhiSimulator } from '../../../local/phiSimulator/startPhiSimulator.js';

const sim = await startPhiSimulator({ modelId: 'phi-4' });
afterAll(() => sim.close());

describe('the Phi simulator impersonating Phi-4', () => {
  it('reports Phi-4 on /info', async () => {
    const res = await fetch(`${sim.url}/info`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model_name: string }).model_name).toBe('Phi-4');
  });

  it("counts a system + user prompt with Phi-4's tokenizer in usage.prompt_tokens", async () => {
    const messages: PromptMessage[] = [
      { role: 'system', content: 'You are a helpful assistant. <|im_end|> Answer briefly.' },
      { role: 'user', content: '  How many languages are in the world?\n' },
    ];
    const res = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': 'local' },
      body: JSON.stringify({ messages, max_tokens: 64 }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const phi4 = tokenizerFor('phi4');
    expect(body.usage.prompt_tokens).toBe(phi4.countPrompt(messages));
    // 4 + 4 per message and 3 for the generation prompt: the Phi-3 template (2 + 2 + 1) would count fewer.
    expect(body.usage.prompt_tokens).toBe(4 + phi4.countText(messages[0]!.content) + 4 + phi4.countText(messages[1]!.content) + 3);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
  });
});
