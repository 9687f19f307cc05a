/**
 * Which tokenizer family a model uses: Phi-3 mini/medium and Phi-3.5 share Llama-2's SentencePiece vocabulary;
 * Phi-3-small and Phi-4 both build on cl100k_base but with different added tokens and chat templates;
 * Phi-4-mini builds on o200k_base.
 */
export type TokenizerKind = 'phi3' | 'cl100k' | 'phi4' | 'phi4mini';

/**
 * Whether Azure's serverless (pay-per-token) offer still sells a model. Managed compute (self-hosted) deployments
 * are outside that schedule: a retired model can still be served there, so this informs, it never refuses.
 */
export interface AzureServerlessStatus {
  readonly status: 'available' | 'retired';
  /** The retirement date (YYYY-MM-DD); null while the model is available. */
  readonly retiredOn: string | null;
}

/** What the service needs to know about a Phi model to build prompts for it and to validate settings. */
export interface ModelSpec {
  /** Catalog id, as in `PHI_MODEL` and the conversation's `model`. */
  readonly id: string;
  /** The name the deployment's `/info` reports. */
  readonly displayName: string;
  readonly contextWindow: number;
  readonly defaultMaxTokens: number;
  readonly maxOutputTokens: number;
  /**
   * None of the Phi-3 family accepts `role: "system"`: the system prompt is folded into the first user turn.
   * Phi-4's and Phi-4-mini's templates have a system branch, so they get the system prompt as its own first message.
   */
  readonly supportsSystemMessages: boolean;
  readonly tokenizer: TokenizerKind;
  readonly azureServerless: AzureServerlessStatus;
}

const K4 = 4_096;
const K8 = 8_192;
const K16 = 16_384;
const K128 = 131_072;

const AVAILABLE: AzureServerlessStatus = { status: 'available', retiredOn: null };
/**
 * Every Phi-3 and Phi-3.5 model left the serverless offer on this day (MicrosoftDocs/azure-ai-docs, model
 * lifecycle and retirement tables; Azure/azureml-assets pull request #5103, `InferenceRetirementDate`).
 */
const PHI3_RETIRED: AzureServerlessStatus = { status: 'retired', retiredOn: '2025-08-30' };

function spec(id: string, displayName: string, contextWindow: number, tokenizer: TokenizerKind): ModelSpec {
  const maxOutputTokens = contextWindow >= K128 ? 4_096 : 2_048;
  return { id, displayName, contextWindow, defaultMaxTokens: 1_024, maxOutputTokens, supportsSystemMessages: false, tokenizer, azureServerless: PHI3_RETIRED };
}

/** Every chat model the service knows (the Phi-3 family the seed documents, Phi-4 and Phi-4-mini), by catalog id. */
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
    // Phi-4 (14B): 16K context (microsoft/phi-4 config.json `max_position_embeddings` 16384 and its model card),
    // the default model of infra/main.bicep. The 4,096-token output cap is this service's choice, not a
    // documented limit of the model.
    { ...spec('phi-4', 'Phi-4', K16, 'phi4'), maxOutputTokens: 4_096, supportsSystemMessages: true, azureServerless: AVAILABLE },
    // Phi-4-mini-instruct (3.8B): input 131,072 tokens, output 4,096 tokens, as Microsoft's Foundry catalog states
    // them (MicrosoftDocs/azure-ai-docs `articles/ai-foundry/foundry-models/concepts/models-from-partners.md`);
    // its template has a system branch. Microsoft's named replacement for the retired Phi-3 mini/small/3.5 models.
    {
      ...spec('phi-4-mini-instruct', 'Phi-4-mini-instruct', K128, 'phi4mini'),
      maxOutputTokens: 4_096, supportsSystemMessages: true, azureServerless: AVAILABLE,
    },
  ].map((m) => [m.id, m]),
);

/** Phi-4-mini: the default since the Phi-3 family left Azure's serverless offer (the contract, "Models and model APIs"). */
export const DEFAULT_MODEL_ID = 'phi-4-mini-instruct';

/** The catalog entry for an id, case-insensitively (catalog ids are lower case). */
export function findModel(id: string): ModelSpec | undefined {
  return MODEL_CATALOG.get(id.toLowerCase());
}
