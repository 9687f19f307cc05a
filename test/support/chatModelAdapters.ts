import { expect } from 'vitest';
import { UpstreamError } from '../../src/chat/errors.js';
import type { CompletionEvent, CompletionRequest } from '../../src/chat/ports.js';
import { InferenceChatModel } from '../../src/model/InferenceChatModel.js';
import type { ModelCallOptions } from '../../src/model/ModelCalls.js';
import { OpenAIChatModel } from '../../src/model/OpenAIChatModel.js';
import { SEED_QUESTION } from '../../local/phiSimulator/replyFor.js';
import type { PhiSimulator, SimulatedWire } from '../../local/phiSimulator/startPhiSimulator.js';

/** What the shared tests build a model with; each adapter adds its own wire settings. */
export type AdapterOptions = Partial<ModelCallOptions> & { readonly endpoint?: string; readonly deployment?: string };

/** Both adapters, built the same way against a simulator, for tests that run over both wires. */
export interface Adapter {
  readonly wire: SimulatedWire;
  /** The model name the end event carries: what the simulator echoes (the deployment, or the model's name). */
  readonly modelName: string;
  make(sim: PhiSimulator, options?: AdapterOptions): InferenceChatModel | OpenAIChatModel;
}

export const DEPLOYMENT = 'phi-test-deployment';

export const warnings: string[] = [];

function common(options: AdapterOptions): ModelCallOptions {
  return { firstByteTimeoutMs: 5_000, idleTimeoutMs: 5_000, retryBudgetMs: 5_000, maxConcurrency: 8, logger: { warn: (m) => warnings.push(m) }, ...options };
}

export const ADAPTERS: readonly Adapter[] = [
  {
    wire: 'openai',
    modelName: DEPLOYMENT,
    make: (sim, options = {}) => new OpenAIChatModel({ endpoint: sim.openaiUrl, apiKey: 'local-test-key', deployment: DEPLOYMENT, ...common(options) }),
  },
  {
    wire: 'inference',
    modelName: 'Phi-3.5-Mini-Instruct',
    make: (sim, options = {}) => new InferenceChatModel({ endpoint: sim.url, apiKey: 'local-test-key', ...common(options) }),
  },
];

export const seedRequest: CompletionRequest = {
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: SEED_QUESTION },
  ],
  settings: { maxTokens: 2_048 },
};

export interface Outcome {
  deltas: string[];
  end?: Extract<CompletionEvent, { type: 'end' }>;
  error?: unknown;
}

/** Runs one call to its end, collecting what it yielded and what it threw. */
export async function run(m: InferenceChatModel | OpenAIChatModel, request: CompletionRequest = seedRequest): Promise<Outcome> {
  const outcome: Outcome = { deltas: [] };
  try {
    for await (const event of await m.stream(request)) {
      if (event.type === 'delta') outcome.deltas.push(event.content);
      else outcome.end = event;
    }
  } catch (error) {
    outcome.error = error;
  }
  return outcome;
}

export function upstream(error: unknown): UpstreamError {
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

/** Waits until `condition` holds (checked every 5 ms, up to 5 s), for what a test cannot await directly. */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}
