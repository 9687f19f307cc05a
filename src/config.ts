import { DEFAULT_MODEL_ID, MODEL_CATALOG, findModel, type ModelSpec } from './chat/modelCatalog.js';
import { isLoopback } from './isLoopback.js';
import { LEASE_TIMING } from './chat/leaseTiming.js';

export type AuthMode = 'appservice' | 'jwt' | 'dev';

/** The wire `PHI_ENDPOINT` speaks: the OpenAI v1 API, or the Azure AI model inference API. */
export type ModelApi = 'openai' | 'inference';

/** Every setting the service reads, validated once at start-up. */
export interface Config {
  readonly phi: {
    readonly endpoint: string | undefined;
    /** `PHI_API`: which adapter talks to the endpoint (unset endpoint: the simulator, over this wire). */
    readonly api: ModelApi;
    readonly apiKey: string | undefined;
    readonly model: ModelSpec;
    readonly deployment: string | undefined;
    /** Entra ID scope for the model endpoint; unset: the adapter's (openai `https://ai.azure.com/.default`, inference the SDK's `https://ml.azure.com/.default`). */
    readonly tokenScope: string | undefined;
    /** Time allowed for the model's first byte before `upstream_timeout`. */
    readonly firstByteTimeoutMs: number;
    /** Silence allowed between two chunks of a started stream before it counts as dropped. */
    readonly idleTimeoutMs: number;
    /** Upstream calls in flight at once from this instance. */
    readonly maxConcurrency: number;
    /** Total time spent waiting on 429/503 retries before the first delta. */
    readonly retryBudgetMs: number;
  };
  readonly cosmos: {
    readonly endpoint: string | undefined;
    readonly key: string | undefined;
    readonly database: string;
  };
  readonly auth: {
    readonly mode: AuthMode;
    readonly jwtIssuer: string | undefined;
    readonly jwtAudience: string | undefined;
    readonly jwtJwksUri: string | undefined;
    /**
     * `AUTH_MODE=appservice` with nothing known to strip the `x-ms-client-principal*` headers from outside requests
     * (App Service authentication off, `WEBSITE_AUTH_ENABLED` not `True`, and no `AUTH_TRUST_PRINCIPAL_HEADERS=true`),
     * in Azure or anywhere else: none is believed (every caller is refused).
     */
    readonly appServiceAuthOff: boolean;
  };
  readonly limits: {
    readonly userDailyTokenLimit: number | undefined;
    /** One caller's turns in flight at once, across instances; below `phi.maxConcurrency`. */
    readonly userMaxConcurrentTurns: number;
    readonly maxBodyBytes: number;
    readonly maxContentChars: number;
    readonly turnLockSeconds: number;
    readonly pingIntervalMs: number;
    /** How often a streaming reply is saved, so an instance lost mid-turn keeps what was produced. */
    readonly checkpointIntervalMs: number;
  };
  readonly corsAllowedOrigins: readonly string[];
  readonly port: number;
  /** True when App Service / Functions runs the process (its own variables are present). */
  readonly deployed: boolean;
}

/** A setting that cannot be used: the message is one line naming the variable and what it allows. */
export class ConfigError extends Error {
  constructor(variable: string, allowed: string, got: string) {
    super(`${variable}=${JSON.stringify(got)} is not valid: ${allowed}`);
    this.name = 'ConfigError';
  }
}

/** The longest model silence a timeout may allow (see `PHI_FIRST_BYTE_TIMEOUT_MS`). */
const MAX_MODEL_WAIT_MS = 300_000;

type Env = Readonly<Record<string, string | undefined>>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integer(env: Env, name: string, fallback: number | undefined, min: number, max: number): number | undefined {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `a whole number from ${min} to ${max}`, raw);
  }
  return value;
}

function flag(env: Env, name: string): boolean {
  const raw = text(env, name);
  if (raw === undefined) return false;
  const value = raw.toLowerCase();
  if (value !== 'true' && value !== 'false') throw new ConfigError(name, 'true or false', raw);
  return value === 'true';
}

function required(value: number | undefined): number {
  if (value === undefined) throw new Error('a setting with a default came back empty');
  return value;
}

function url(env: Env, name: string): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'an absolute http(s) URL', raw);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ConfigError(name, 'an absolute http(s) URL', raw);
  }
  return raw.replace(/\/+$/, '');
}

/** How the process runs, where the environment cannot tell. */
export interface LoadOptions {
  /**
   * The process is the project's local host (`npm start`) listening on loopback only: without `AUTH_MODE` it
   * acts as `dev`. Anywhere else (`func start`, a container) `AUTH_MODE` must be chosen, since a silent `dev` would
   * let any caller pick its user with one header.
   */
  readonly loopbackHost?: boolean;
}

/** The mode, or undefined when none is chosen and none may be assumed (refused once everything else is checked). */
function authMode(env: Env, deployed: boolean, loopbackHost: boolean): AuthMode | undefined {
  const raw = text(env, 'AUTH_MODE');
  const mode = raw ?? (deployed ? 'appservice' : loopbackHost ? 'dev' : undefined);
  if (mode === undefined) return undefined;
  if (mode !== 'appservice' && mode !== 'jwt' && mode !== 'dev') {
    throw new ConfigError('AUTH_MODE', 'one of appservice, jwt, dev', mode);
  }
  if (mode === 'dev' && deployed) {
    throw new ConfigError('AUTH_MODE', 'appservice or jwt when running in Azure (dev trusts any x-user-id header)', mode);
  }
  return mode;
}

/** `PHI_API`, else the endpoint's own hint: an OpenAI v1 base URL ends in `/v1`; no endpoint: the simulator's v1 wire. */
function modelApi(env: Env, endpoint: string | undefined): ModelApi {
  const raw = text(env, 'PHI_API');
  if (raw === undefined) return endpoint === undefined || /\/v1\/?$/.test(new URL(endpoint).pathname) ? 'openai' : 'inference';
  const api = raw.toLowerCase();
  if (api !== 'openai' && api !== 'inference') throw new ConfigError('PHI_API', 'openai or inference', raw);
  return api;
}

/** The key set URL: https, since its keys decide who anyone is; plain http only on loopback (tests, local issuers). */
function jwksUri(env: Env): string | undefined {
  const uri = url(env, 'JWT_JWKS_URI');
  if (uri === undefined) return undefined;
  const parsed = new URL(uri);
  if (parsed.protocol !== 'https:' && !isLoopback(parsed.hostname)) {
    throw new ConfigError('JWT_JWKS_URI', 'an https URL (plain http only for localhost / 127.0.0.1 / [::1])', uri);
  }
  return uri;
}

/**
 * The model endpoint: https, since every call carries the key or an Entra ID token; plain http only on loopback
 * (a local OpenAI-compatible server, the simulator). The same rule for both wires.
 */
function modelEndpoint(env: Env): string | undefined {
  const endpoint = url(env, 'PHI_ENDPOINT');
  if (endpoint !== undefined && new URL(endpoint).protocol !== 'https:' && !isLoopback(new URL(endpoint).hostname)) {
    throw new ConfigError('PHI_ENDPOINT', 'an https URL (plain http only for localhost / 127.x.y.z / [::1]: every call carries the key or a token)', endpoint);
  }
  return endpoint;
}

/**
 * Reads and validates every setting; throws a ConfigError with one clear line on the first bad value. `AUTH_MODE` is
 * required outside Azure unless `options.loopbackHost` says the process is `npm start`'s local host.
 */
export function loadConfig(env: Env = process.env, options: LoadOptions = {}): Config {
  const deployed = text(env, 'WEBSITE_INSTANCE_ID') !== undefined || text(env, 'WEBSITE_SITE_NAME') !== undefined;
  const modelId = text(env, 'PHI_MODEL') ?? DEFAULT_MODEL_ID;
  const model = findModel(modelId);
  if (!model) throw new ConfigError('PHI_MODEL', `one of ${[...MODEL_CATALOG.keys()].join(', ')}`, modelId);

  const mode = authMode(env, deployed, options.loopbackHost === true);
  const jwtIssuer = text(env, 'JWT_ISSUER');
  const jwtAudience = text(env, 'JWT_AUDIENCE');
  const jwtJwksUri = jwksUri(env);
  // The principal headers are anyone's unless a platform in front strips them from outside requests: App Service
  // authentication (which sets WEBSITE_AUTH_ENABLED to "True"), or one the operator vouches for by name.
  const principalHeadersStripped = text(env, 'WEBSITE_AUTH_ENABLED')?.toLowerCase() === 'true' || flag(env, 'AUTH_TRUST_PRINCIPAL_HEADERS');
  const appServiceAuthOff = mode === 'appservice' && !principalHeadersStripped;
  if (mode === 'jwt') {
    for (const [name, value] of [['JWT_ISSUER', jwtIssuer], ['JWT_AUDIENCE', jwtAudience], ['JWT_JWKS_URI', jwtJwksUri]] as const) {
      if (value === undefined) throw new ConfigError(name, 'required when AUTH_MODE=jwt', '');
    }
  }
  // In Azure there is no embedded store or simulator to fall back to: a missing endpoint is a deployment error.
  if (deployed) {
    for (const name of ['PHI_ENDPOINT', 'COSMOS_ENDPOINT']) {
      if (text(env, name) === undefined) throw new ConfigError(name, 'required when running in Azure (the embedded store and simulator are for local runs)', '');
    }
  }
  const phiEndpoint = modelEndpoint(env);
  const api = modelApi(env, phiEndpoint);
  const deployment = text(env, 'PHI_DEPLOYMENT');
  // The v1 API names the deployment in every request; the simulator plays PHI_MODEL under any name.
  if (api === 'openai' && phiEndpoint !== undefined && deployment === undefined) {
    throw new ConfigError('PHI_DEPLOYMENT', 'required when PHI_API=openai (the deployment name, sent as model)', '');
  }
  const origins = (text(env, 'CORS_ALLOWED_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError('CORS_ALLOWED_ORIGINS', 'a comma-separated list of origins like https://app.example.com, or *', origin);
    }
  }

  const phiTimeouts = {
    // At most 300 s: Node's fetch (the openai wire) gives up on headers, and on a silent body, after 300 s whatever
    // the SDK is told, and it takes no other limit without undici as a dependency of our own.
    firstByteTimeoutMs: required(integer(env, 'PHI_FIRST_BYTE_TIMEOUT_MS', 60_000, 100, MAX_MODEL_WAIT_MS)),
    idleTimeoutMs: required(integer(env, 'PHI_IDLE_TIMEOUT_MS', 60_000, 100, MAX_MODEL_WAIT_MS)),
    retryBudgetMs: required(integer(env, 'PHI_RETRY_BUDGET_MS', 20_000, 0, 120_000)),
  };
  const maxConcurrency = required(integer(env, 'PHI_MAX_CONCURRENCY', 64, 2, 10_000));
  const userMaxConcurrentTurns = required(integer(env, 'USER_MAX_CONCURRENT_TURNS', Math.min(4, maxConcurrency - 1), 1, 10_000));
  if (userMaxConcurrentTurns >= maxConcurrency) {
    throw new ConfigError('USER_MAX_CONCURRENT_TURNS', `below PHI_MAX_CONCURRENCY (${maxConcurrency}), so one caller can never hold every upstream slot`, String(userMaxConcurrentTurns));
  }
  const turnLockSeconds = required(integer(env, 'TURN_LOCK_SECONDS', 600, 5, 3_600));
  // What binds a turn to its lock is the abort signal that fires LEASE_TIMING.stopBeforeLeaseMs before the lease:
  // every wait inside the turn ends there. This check only refuses settings that clearly cannot hold: a lock shorter
  // than one ordinary slow turn (a slot wait and a first byte, each up to the first-byte timeout, the retry budget,
  // one silence mid-stream, and the stop margin). It is no upper bound (each retried attempt may wait a whole
  // first-byte timeout too, and a reply may be long): a turn that runs longer is stopped, its reply so far kept.
  const longestWaitMs = phiTimeouts.retryBudgetMs + 2 * phiTimeouts.firstByteTimeoutMs + phiTimeouts.idleTimeoutMs + LEASE_TIMING.stopBeforeLeaseMs;
  if (turnLockSeconds * 1000 < longestWaitMs) {
    throw new ConfigError(
      'TURN_LOCK_SECONDS',
      `at least ${Math.ceil(longestWaitMs / 1000)} with these timeouts (PHI_RETRY_BUDGET_MS + 2 × PHI_FIRST_BYTE_TIMEOUT_MS + PHI_IDLE_TIMEOUT_MS + ${LEASE_TIMING.stopBeforeLeaseMs / 1000} s), or the lock would stop turns these timeouts allow`,
      String(turnLockSeconds),
    );
  }

  const rest: Omit<Config, 'auth'> = {
    phi: {
      endpoint: phiEndpoint,
      api,
      apiKey: text(env, 'PHI_API_KEY'),
      model,
      deployment,
      tokenScope: text(env, 'PHI_TOKEN_SCOPE'),
      ...phiTimeouts,
      maxConcurrency,
    },
    cosmos: {
      endpoint: url(env, 'COSMOS_ENDPOINT'),
      key: text(env, 'COSMOS_KEY'),
      database: text(env, 'COSMOS_DATABASE') ?? 'chat',
    },
    limits: {
      userDailyTokenLimit: integer(env, 'USER_DAILY_TOKEN_LIMIT', undefined, 1, Number.MAX_SAFE_INTEGER),
      userMaxConcurrentTurns,
      maxBodyBytes: required(integer(env, 'MAX_BODY_BYTES', 1_048_576, 1_024, 64 * 1_048_576)),
      maxContentChars: required(integer(env, 'MAX_CONTENT_CHARS', 400_000, 1, 16 * 1_048_576)),
      turnLockSeconds,
      pingIntervalMs: required(integer(env, 'SSE_PING_INTERVAL_MS', 15_000, 10, 15_000)),
      // At most 1 s: a resumed stream on another instance follows the reply as it is saved, at least once a second.
      checkpointIntervalMs: required(integer(env, 'STREAM_CHECKPOINT_MS', 1_000, 50, 1_000)),
    },
    corsAllowedOrigins: origins,
    port: required(integer(env, 'PORT', 7071, 1, 65_535)),
    deployed,
  };
  // Last, so a missing mode does not hide another bad setting.
  if (mode === undefined) {
    throw new ConfigError('AUTH_MODE', 'required outside Azure: appservice, jwt or dev (only npm start, on loopback, defaults to dev)', '');
  }
  return { ...rest, auth: { mode, jwtIssuer, jwtAudience, jwtJwksUri, appServiceAuthOff } };
}
