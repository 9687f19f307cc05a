import { pathToFileURL } from 'node:url';
import { assembleContext } from '../src/chat/contextWindow.js';
import type { HistoryMessage } from '../src/chat/contextWindow.js';
import { findModel } from '../src/chat/modelCatalog.js';
import { contentTokens, tokenizerFor } from '../src/chat/tokenizer/index.js';
import { mixedText } from './mixedText.js';

/** One measurement of `assembleContext`. */
export interface Row {
  readonly case: string;
  readonly historyMessages: number;
  readonly promptTokens: number;
  readonly messagesIncluded: number;
  readonly medianMs: number;
  readonly worstMs: number;
}

/**
 * `assembleContext` on a 2,000-message history with stored counts (nothing re-tokenized but the folded first
 * message), for a 128K and a 4K model: median and worst of 50 runs after a warm-up. Target: ≤ 10 ms for 128K.
 */
export async function benchContextAssembly(): Promise<Row[]> {
  const tokenizer = tokenizerFor('phi3');
  const history: HistoryMessage[] = Array.from({ length: 2_000 }, (_, i) => {
    const content = mixedText(150 + ((i * 97) % 400), i).trim();
    return { role: i % 2 === 0 ? 'user' : 'assistant', status: i % 50 === 7 ? 'failed' : 'complete', content, tokenCount: contentTokens(tokenizer, content) };
  });
  const system = 'You are a helpful assistant. Answer briefly and cite the conversation where useful.';
  const newContent = 'What did we decide about the context window?';
  const rows: Row[] = [];
  for (const id of ['phi-3.5-mini-instruct', 'phi-3-mini-4k-instruct']) {
    const model = findModel(id);
    if (model === undefined) throw new Error(`no model ${id}`);
    const request = { model, systemPrompt: system, history, newMessage: { content: newContent, tokenCount: contentTokens(tokenizer, newContent) }, maxTokens: 1_024 };
    for (let i = 0; i < 5; i++) assembleContext(request);
    const times: number[] = [];
    let last = assembleContext(request);
    for (let i = 0; i < 50; i++) {
      const start = performance.now();
      last = assembleContext(request);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    rows.push({
      case: `${id} (window ${model.contextWindow})`,
      historyMessages: history.length,
      promptTokens: last.context.promptTokens,
      messagesIncluded: last.context.messagesIncluded,
      medianMs: Math.round((times[25] as number) * 1000) / 1000,
      worstMs: Math.round((times[49] as number) * 1000) / 1000,
    });
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.table(await benchContextAssembly());
}
