import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_MODEL_ID, findModel, type ModelSpec } from '../../src/chat/modelCatalog.js';
import type { ChatTokenizer } from '../../src/chat/tokenizer/ChatTokenizer.js';
import { tokenizerFor } from '../../src/chat/tokenizer/index.js';
import { completionPlan, streamPieces } from './completionPlan.js';
import { FaultQueue, type Fault } from './FaultQueue.js';
import { InvalidBody, parseCompletionRequest, type CompletionRequestBody } from './parseCompletionRequest.js';
import { replyFor } from './replyFor.js';
import { contentFilterBody, contextLengthBody, invalidRequestBody, retryAfterHeaders, statusBody } from './wireBodies.js';

export interface PhiSimulatorOptions {
  /** 0 (the default) lets the system choose; read the chosen one from `port`/`url`. */
  readonly port?: number;
  /** Catalog id of the model to impersonate: its display name, context window and tokenizer. */
  readonly modelId?: string;
  /** Counts prompt and completion tokens for `usage` and the window check (default: the project's tokenizer for the model). */
  readonly tokenizer?: ChatTokenizer;
  /** Words after the opening sentence of a generated reply (default 40). */
  readonly replyWords?: number;
  /** Steady delay between two streamed chunks, for benchmarks (default 0: no artificial delay). */
  readonly chunkDelayMs?: number;
  /** Words per streamed content chunk (default 1). */
  readonly wordsPerChunk?: number;
  /**
   * When set, requests must carry it (the inference wire: `api-key` or `Authorization: Bearer`; the OpenAI v1 wire:
   * `Authorization: Bearer`); otherwise any credential passes.
   */
  readonly apiKey?: string;
}

/**
 * The two chat-completions wires the simulator speaks: the Azure AI model inference API (`/chat/completions` and
 * `/info` at the root) and the OpenAI v1 API (`…/v1/chat/completions` under any prefix, e.g. `/openai/v1`).
 */
export type SimulatedWire = 'openai' | 'inference';

/** One request as the simulator received it, with what it decided. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** The wire of a completion request; null for any other request. */
  readonly wire: SimulatedWire | null;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the raw text when it did not parse (undefined for an empty body). */
  readonly body: unknown;
  /** `performance.timeOrigin + performance.now()` when the request line arrived, in ms. */
  readonly receivedAt: number;
  /** The same clock when the response's connection closed (ended, dropped or torn down by the client); unset while open. */
  closedAt?: number;
  readonly faults: readonly Fault['kind'][];
  status: number;
  /** Prompt tokens counted for a valid completion request. */
  promptTokens?: number;
  /** `max_tokens` asked, or what the window had left when the request did not say. */
  maxTokens?: number;
  /** True when the request was within the window and generation started. */
  accepted: boolean;
  /** True when the connection closed before the response was complete: the client hung up (or a drop fault). */
  closedEarly: boolean;
}

export interface UsageTotals {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** A running simulator: its address, its fault queue and what it saw. */
export interface PhiSimulator {
  /** The root: the inference wire's endpoint (`PHI_ENDPOINT` with `PHI_API=inference`). */
  readonly url: string;
  /** `${url}/openai/v1`: an OpenAI v1 base URL, as Foundry shapes it (any prefix ending in `/v1` works). */
  readonly openaiUrl: string;
  readonly port: number;
  readonly model: ModelSpec;
  readonly faults: FaultQueue;
  /** Every request received, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Completion requests only, on either wire. */
  readonly completionRequests: readonly RecordedRequest[];
  /** The usage the simulator reported, summed over responses that carried it. */
  readonly usageTotals: Readonly<UsageTotals>;
  /** Completion requests open right now, and the most ever open at once since the last reset. */
  readonly openCompletions: number;
  readonly peakOpenCompletions: number;
  /** Forgets requests, totals and queued faults. */
  reset(): void;
  close(): Promise<void>;
}

type Wire = Record<string, unknown>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Writes one SSE frame, waiting for the socket to drain so a slow reader slows the simulator down. With `flush`,
 * waits until the frame has reached the socket, so a drop that follows cannot swallow it.
 */
async function writeFrame(res: ServerResponse, data: string, flush = false): Promise<boolean> {
  if (res.destroyed) return false;
  if (flush) {
    await new Promise<void>((resolve) => res.write(`data: ${data}\n\n`, () => resolve()));
  } else if (!res.write(`data: ${data}\n\n`)) {
    await new Promise<void>((resolve) => {
      res.once('drain', resolve);
      res.once('close', resolve);
    });
  }
  return !res.destroyed;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

class Simulator implements PhiSimulator {
  readonly faults = new FaultQueue();
  readonly requests: RecordedRequest[] = [];
  readonly usageTotals: UsageTotals = { requests: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  readonly #server: Server;
  readonly #options: PhiSimulatorOptions;
  readonly #tokenizer: ChatTokenizer;
  readonly model: ModelSpec;
  port = 0;
  openCompletions = 0;
  peakOpenCompletions = 0;

  constructor(options: PhiSimulatorOptions, model: ModelSpec) {
    this.#options = options;
    this.#tokenizer = options.tokenizer ?? tokenizerFor(model.tokenizer);
    this.model = model;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) send(res, 500, statusBody(500));
        else res.destroy();
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get openaiUrl(): string {
    return `${this.url}/openai/v1`;
  }

  get completionRequests(): readonly RecordedRequest[] {
    return this.requests.filter((r) => r.wire !== null);
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.#server.address() as AddressInfo).port;
  }

  reset(): void {
    this.requests.length = 0;
    this.faults.clear();
    this.peakOpenCompletions = this.openCompletions;
    Object.assign(this.usageTotals, { requests: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0 });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      // Hung streams (neverEnd) would keep close() waiting forever.
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = performance.timeOrigin + performance.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    let body: unknown = raw === '' ? undefined : raw;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      // kept as text: the completion handler answers 400
    }
    const wire = wireOf(req.method, url.pathname);
    const isCompletion = wire !== null;
    const faults = isCompletion ? this.faults.take({ maxTokens: maxTokensOf(body) }) : [];
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      wire,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      receivedAt,
      faults: faults.map((f) => f.kind),
      status: 0,
      accepted: false,
      closedEarly: false,
    };
    this.requests.push(record);
    if (isCompletion) {
      this.openCompletions += 1;
      this.peakOpenCompletions = Math.max(this.peakOpenCompletions, this.openCompletions);
      res.on('close', () => {
        this.openCompletions -= 1;
        record.closedAt = performance.timeOrigin + performance.now();
      });
    }
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    res.on('close', () => {
      if (!res.writableFinished) record.closedEarly = true;
    });

    if (!this.#authorized(req.headers, wire)) return send(res, 401, statusBody(401));
    if (req.method === 'GET' && url.pathname === '/info') {
      return send(res, 200, { model_name: this.model.displayName, model_type: 'chat-completions', model_provider_name: 'Microsoft' });
    }
    if (wire) return this.#complete(raw, faults, record, res, wire);
    send(res, 404, { error: { code: 'NotFound', message: `No route ${req.method ?? ''} ${url.pathname}.`, status: 404 } });
  }

  #authorized(headers: IncomingHttpHeaders, wire: SimulatedWire | null): boolean {
    const key = this.#options.apiKey;
    if (key === undefined) return true;
    return (wire !== 'openai' && headers['api-key'] === key) || headers.authorization === `Bearer ${key}`;
  }

  async #complete(raw: string, faults: readonly Fault[], record: RecordedRequest, res: ServerResponse, wire: SimulatedWire): Promise<void> {
    const find = <K extends Fault['kind']>(kind: K): Extract<Fault, { kind: K }> | undefined =>
      faults.find((f): f is Extract<Fault, { kind: K }> => f.kind === kind);

    const firstByteDelay = find('firstByteDelayMs');
    if (firstByteDelay) await sleep(firstByteDelay.ms);
    const status = find('status');
    if (status) {
      const wait = status.retryAfterMs;
      const headers = wait === undefined ? {} : retryAfterHeaders(wait, status.retryAfterHeaders ?? ['retry-after-ms', 'retry-after'], new Date());
      return send(res, status.status, statusBody(status.status), headers);
    }

    let request: CompletionRequestBody;
    try {
      request = parseCompletionRequest(raw);
    } catch (e) {
      if (e instanceof InvalidBody) return send(res, 400, invalidRequestBody(e.message, e.param));
      throw e;
    }
    // The v1 API serves several deployments behind one URL: the body names one.
    if (wire === 'openai' && !request.model) return send(res, 400, invalidRequestBody('You must provide a model parameter.', 'model'));
    const filter = find('contentFilter');
    if (filter) return send(res, 400, contentFilterBody(filter.codeAtTopLevel === true));

    const tokenizer = this.#tokenizer;
    const window = this.model.contextWindow;
    const promptTokens = tokenizer.countPrompt(request.messages);
    const maxTokens = request.maxTokens ?? Math.max(window - promptTokens, 0);
    record.promptTokens = promptTokens;
    record.maxTokens = maxTokens;
    if (promptTokens >= window || promptTokens + maxTokens > window) {
      return send(res, 400, contextLengthBody(window, promptTokens, maxTokens));
    }
    record.accepted = true;

    const reply = replyFor(request.messages, this.#options.replyWords ?? 40, request.seed);
    const plan = completionPlan(reply, request.stop, maxTokens, tokenizer);
    const usage = { prompt_tokens: promptTokens, total_tokens: promptTokens + plan.completionTokens, completion_tokens: plan.completionTokens };
    const head = { id: randomUUID().replaceAll('-', ''), created: Math.floor(Date.now() / 1000), model: request.model ?? this.model.displayName };
    const noUsage = find('noUsage') !== undefined;

    if (!request.stream) {
      if (find('dropAfterChunks')) return void res.destroy();
      if (find('neverEnd')) return;
      const choice = { index: 0, message: { role: 'assistant', content: plan.text, tool_calls: null }, finish_reason: plan.finishReason, logprobs: null };
      if (!noUsage) this.#count(usage);
      return send(res, 200, { ...head, object: 'chat.completion', choices: [choice], ...(noUsage ? {} : { usage }) });
    }
    // The v1 wire sends usage only when asked, in a last chunk of its own; the inference wire on the finish chunk.
    const usageChunk = wire === 'openai' ? (request.includeUsage ? 'separate' : 'none') : 'onFinish';
    await this.#stream(res, faults, head, plan.text, plan.finishReason, usage, noUsage ? 'none' : usageChunk);
  }

  async #stream(
    res: ServerResponse,
    faults: readonly Fault[],
    head: Wire,
    text: string,
    finishReason: string,
    usage: { prompt_tokens: number; total_tokens: number; completion_tokens: number },
    usageIn: 'onFinish' | 'separate' | 'none',
  ): Promise<void> {
    const kinds = new Set(faults.map((f) => f.kind));
    const delay = faults.find((f) => f.kind === 'chunkDelayMs')?.ms ?? this.#options.chunkDelayMs ?? 0;
    const dropAfter = faults.find((f) => f.kind === 'dropAfterChunks')?.chunks;
    const firstChunkDelay = faults.find((f) => f.kind === 'firstChunkDelayMs')?.ms ?? 0;
    const filterAfter = faults.find((f) => f.kind === 'filterMidStream')?.afterChunks;
    const chunk = (choices: Wire[] | undefined, extra: Wire = {}): string =>
      JSON.stringify({ ...head, object: 'chat.completion.chunk', ...(choices ? { choices } : {}), ...extra });
    const choice = (delta: Wire, finish: string | null = null): Wire => ({ index: 0, delta, finish_reason: finish, logprobs: null });

    let pieces = streamPieces(text, this.#options.wordsPerChunk ?? 1);
    let finish = finishReason;
    let reported = usage;
    if (filterAfter !== undefined && filterAfter < pieces.length) {
      pieces = pieces.slice(0, filterAfter);
      finish = 'content_filter';
      const completion = this.#tokenizer.countText(pieces.join(''));
      reported = { prompt_tokens: usage.prompt_tokens, total_tokens: usage.prompt_tokens + completion, completion_tokens: completion };
    }

    const frames: { data: string; usage?: typeof usage }[] = [{ data: chunk([choice({ role: 'assistant', content: '' })]) }];
    pieces.forEach((piece, i) => {
      frames.push({ data: chunk([choice({ content: piece })]) });
      if (i === 0 && kinds.has('garbageLine')) frames.push({ data: '{"id": "unterminated' });
      if (i === Math.floor(pieces.length / 2) && kinds.has('chunkWithoutChoices')) frames.push({ data: chunk(undefined) });
    });
    if (!kinds.has('neverEnd')) {
      // chunkWithoutChoices moves the usage to a chunk of its own, as the v1 wire always does.
      const where = usageIn === 'onFinish' && kinds.has('chunkWithoutChoices') ? 'separate' : usageIn;
      frames.push(where === 'onFinish'
        ? { data: chunk([choice({ content: '' }, finish)], { usage: reported }), usage: reported }
        : { data: chunk([choice({ content: '' }, finish)]) });
      if (where === 'separate') frames.push({ data: chunk([], { usage: reported }), usage: reported });
      frames.push({ data: '[DONE]' });
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    let written = 0;
    for (const frame of frames) {
      if (dropAfter !== undefined && written >= dropAfter) return void res.destroy();
      if (written === 0 && firstChunkDelay > 0) await sleep(firstChunkDelay);
      if (written > 0 && delay > 0) await sleep(delay);
      if (!(await writeFrame(res, frame.data, dropAfter === written + 1))) return;
      written += 1;
      if (frame.usage) this.#count(frame.usage);
    }
    if (dropAfter !== undefined && written >= dropAfter) return void res.destroy();
    if (kinds.has('neverEnd')) return; // hang: close() tears the socket down
    res.end();
  }

  #count(usage: { prompt_tokens: number; total_tokens: number; completion_tokens: number }): void {
    this.usageTotals.requests += 1;
    this.usageTotals.promptTokens += usage.prompt_tokens;
    this.usageTotals.completionTokens += usage.completion_tokens;
    this.usageTotals.totalTokens += usage.total_tokens;
  }
}

/** The body's `max_tokens`, before the body is checked (a fault can be keyed on it). */
function maxTokensOf(body: unknown): number | undefined {
  const value = typeof body === 'object' && body !== null ? (body as { max_tokens?: unknown }).max_tokens : undefined;
  return typeof value === 'number' ? value : undefined;
}

/** Which wire a request path speaks, for a completion request; null for anything else. */
function wireOf(method: string | undefined, path: string): SimulatedWire | null {
  if (method !== 'POST') return null;
  if (path === '/chat/completions') return 'inference';
  return path.endsWith('/v1/chat/completions') ? 'openai' : null;
}

/**
 * Starts the bundled Phi simulator on 127.0.0.1, speaking both wires: the Azure AI model inference API
 * (`GET /info`, `POST /chat/completions`) and the OpenAI v1 API (`POST …/v1/chat/completions`, `model` required,
 * usage in a last `choices: []` chunk when `stream_options.include_usage` asks), JSON or data-only SSE, with
 * deterministic replies, exact `usage`, an enforced context window and the same faults on both, driven through
 * `faults`.
 */
export async function startPhiSimulator(options: PhiSimulatorOptions = {}): Promise<PhiSimulator> {
  const modelId = options.modelId ?? DEFAULT_MODEL_ID;
  const model = findModel(modelId);
  if (!model) throw new Error(`Unknown model id for the Phi simulator: ${modelId}`);
  const simulator = new Simulator(options, model);
  await simulator.listen(options.port ?? 0);
  return simulator;
}
