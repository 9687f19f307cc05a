/** Which tokenizer family a model uses: Phi-3 mini/medium and Phi-3.5 share Llama-2's SentencePiece vocabulary. */
export type TokenizerKind = 'phi3' | 'cl100k';

/** What the service needs to know about a Phi model to build prompts for it and to validate settings. */
export interface ModelSpec {
  /** Catalog id, as in `PHI_MODEL` and the conversation's `model`. */
  readonly id: string;
  /** The name the deployment's `/info` reports. */
  readonly displayName: string;
  readonly contextWindow: number;
  readonly defaultMaxTokens: number;
  readonly maxOutputTokens: number;
  /** None of the Phi-3 family accepts `role: "system"`: the system prompt is folded into the first user turn. */
  readonly supportsSystemMessages: boolean;
  readonly tokenizer: TokenizerKind;
}

const K4 = 4_096;
const K8 = 8_192;
const K128 = 131_072;

function spec(id: string, displayName: string, contextWindow: number, tokenizer: TokenizerKind): ModelSpec {
  const maxOutputTokens = contextWindow >= K128 ? 4_096 : 2_048;
  return { id, displayName, contextWindow, defaultMaxTokens: 1_024, maxOutputTokens, supportsSystemMessages: false, tokenizer };
}

/** Every Phi-3 family chat model the seed documents, by catalog id. */
export const MODEL_CATALOG: ReadonlyMap<string, ModelSpec> = new Map(
  [
    spec('phi-3.5-mini-instruct', 'Phi-3.5-Mini-Instruct', K128, 'phi3'),
    spec('phi-3.5-moe-instruct', 'Phi-3.5-MoE-Instruct', K128, 'phi3'),
    spec('phi-3-mini-4k-instruct', 'Phi-3-mini-4k-Instruct', K4, 'phi3'),
    spec('phi-3-mini-128k-instruct', 'Phi-3-mini-128k-Instruct', K128, 'phi3'),
    spec('phi-3-small-8k-instruct', 'Phi-3-small-8k-Instruct', K8, 'cl100k'),
    spec('phi-3-small-128k-instruct', 'Phi-3-small-128k-Instruct', K128, 'cl100k'),
    spec('phi-3-medium-4k-instruct', 'Phi-3-medium-4k-Instruct', K4, 'phi3'),
    spec('phi-3-medium-128k-instruct', 'Phi-3-medium-128k-Instruct', K128, 'phi3'),
  ].map((m) => [m.id, m]),
);

export const DEFAULT_MODEL_ID = 'phi-3.5-mini-instruct';

/** The catalog entry for an id, case-insensitively (catalog ids are lower case). */
export function findModel(id: string): ModelSpec | undefined {
  return MODEL_CATALOG.get(id.toLowerCase());
}
