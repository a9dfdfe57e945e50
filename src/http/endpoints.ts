// Every endpoint corral answers about models, in one table: the router routes by it, its metrics group requests by
// it, errors take the shape it names, the model server registers its routes from it, and an engine's unserved paths
// are read from it. A path that appears in two places (GET and POST /props) has one group and one error dialect.

/** Which error shape a path's clients parse: Anthropic's, Ollama's, or OpenAI's (everyone else). */
export type ErrorDialect = "openai" | "anthropic" | "ollama";

/** The `endpoint` label of the router's request metrics: what kind of request, whatever spelling of its path. */
export const METRICS_GROUPS = [
  "other", "chat", "completions", "embeddings", "rerank", "tokenize", "anthropic", "responses", "ollama", "models", "props",
  "slots", "metrics", "health",
] as const;
export type MetricsGroup = (typeof METRICS_GROUPS)[number];

/**
 * Engines whose processes' surface corral knows: its own model server and llama.cpp's llama-server. A command or a
 * remote server runs something corral cannot see, so every path is forwarded to it.
 */
export type KnownEngine = "node" | "llama-server";

interface Common {
  method: "GET" | "POST" | "DELETE" | "HEAD";
  /** The path, then its other spellings (llama.cpp's and OpenAI's), all answered alike. */
  paths: readonly string[];
  group: MetricsGroup;
  errors: ErrorDialect;
}

export type Endpoint = Common & (
  /**
   * Forwarded unchanged to the process of the model named in the body's `model` or in `?model=`. `engines`: the
   * known engines whose processes serve it; the router answers 404 for the others without loading anything.
   */
  | { route: "model"; model: "body" | "query"; engines: readonly KnownEngine[] }
  /**
   * Another dialect of a model request: forwarded as it is to an engine that speaks it, translated to OpenAI chat
   * completions (or embeddings) for any other.
   */
  | { route: "dialect"; model: "body" }
  /** Answered by the router itself, though it may name a model (a load, an unload, Ollama's listings). */
  | { route: "router"; model: "body" | "query" | "query-or-body" | "none" }
);

const BOTH: readonly KnownEngine[] = ["node", "llama-server"];

export const ENDPOINTS = {
  // ---- forwarded to the model's process
  chat: { method: "POST", paths: ["/v1/chat/completions", "/chat/completions"], route: "model", model: "body", engines: BOTH, group: "chat", errors: "openai" },
  chatInputTokens: {
    method: "POST", paths: ["/v1/chat/completions/input_tokens", "/chat/completions/input_tokens"], route: "model", model: "body", engines: BOTH,
    group: "tokenize", errors: "openai",
  },
  /** OpenAI's text completions. */
  completions: { method: "POST", paths: ["/v1/completions"], route: "model", model: "body", engines: BOTH, group: "completions", errors: "openai" },
  /** llama.cpp's native completion: /completions without /v1 is this one, as in llama-server. */
  completion: { method: "POST", paths: ["/completion", "/completions"], route: "model", model: "body", engines: BOTH, group: "completions", errors: "openai" },
  // fill-in-the-middle is not implemented by the model server (see README, "what the built-in engine lacks")
  infill: { method: "POST", paths: ["/infill"], route: "model", model: "body", engines: ["llama-server"], group: "completions", errors: "openai" },
  /** OpenAI's embeddings, which refuse one vector per token (pooling none). */
  embeddings: { method: "POST", paths: ["/v1/embeddings"], route: "model", model: "body", engines: BOTH, group: "embeddings", errors: "openai" },
  /** llama.cpp's own embeddings. */
  embedding: { method: "POST", paths: ["/embeddings", "/embedding"], route: "model", model: "body", engines: BOTH, group: "embeddings", errors: "openai" },
  rerank: {
    method: "POST", paths: ["/v1/rerank", "/rerank", "/v1/reranking", "/reranking"], route: "model", model: "body", engines: BOTH,
    group: "rerank", errors: "openai",
  },
  tokenize: { method: "POST", paths: ["/tokenize"], route: "model", model: "body", engines: BOTH, group: "tokenize", errors: "openai" },
  detokenize: { method: "POST", paths: ["/detokenize"], route: "model", model: "body", engines: BOTH, group: "tokenize", errors: "openai" },
  applyTemplate: { method: "POST", paths: ["/apply-template"], route: "model", model: "body", engines: BOTH, group: "tokenize", errors: "openai" },
  propsUpdate: { method: "POST", paths: ["/props"], route: "model", model: "body", engines: BOTH, group: "props", errors: "openai" },
  slots: { method: "GET", paths: ["/slots"], route: "model", model: "query", engines: BOTH, group: "slots", errors: "openai" },
  /** Without ?model= the router answers with its own metrics. */
  metrics: { method: "GET", paths: ["/metrics"], route: "model", model: "query", engines: BOTH, group: "metrics", errors: "openai" },
  /** Without ?model= the router answers with its own properties. */
  props: { method: "GET", paths: ["/props"], route: "model", model: "query", engines: BOTH, group: "props", errors: "openai" },

  // ---- other dialects
  messages: { method: "POST", paths: ["/v1/messages"], route: "dialect", model: "body", group: "anthropic", errors: "anthropic" },
  messagesCountTokens: { method: "POST", paths: ["/v1/messages/count_tokens"], route: "dialect", model: "body", group: "anthropic", errors: "anthropic" },
  responses: { method: "POST", paths: ["/v1/responses", "/responses"], route: "dialect", model: "body", group: "responses", errors: "openai" },
  responsesInputTokens: {
    method: "POST", paths: ["/v1/responses/input_tokens", "/responses/input_tokens"], route: "dialect", model: "body", group: "responses", errors: "openai",
  },
  ollamaChat: { method: "POST", paths: ["/api/chat"], route: "dialect", model: "body", group: "ollama", errors: "ollama" },
  ollamaGenerate: { method: "POST", paths: ["/api/generate"], route: "dialect", model: "body", group: "ollama", errors: "ollama" },
  ollamaEmbed: { method: "POST", paths: ["/api/embed"], route: "dialect", model: "body", group: "ollama", errors: "ollama" },
  /** Ollama's legacy embeddings: one prompt, one vector. */
  ollamaEmbeddings: { method: "POST", paths: ["/api/embeddings"], route: "dialect", model: "body", group: "ollama", errors: "ollama" },

  // ---- answered by the router (and, for one model, by the model server)
  ollamaShow: { method: "POST", paths: ["/api/show"], route: "router", model: "body", group: "ollama", errors: "ollama" },
  ollamaTags: { method: "GET", paths: ["/api/tags"], route: "router", model: "none", group: "ollama", errors: "ollama" },
  ollamaPs: { method: "GET", paths: ["/api/ps"], route: "router", model: "none", group: "ollama", errors: "ollama" },
  ollamaVersion: { method: "GET", paths: ["/api/version"], route: "router", model: "none", group: "ollama", errors: "ollama" },
  ollamaPull: { method: "POST", paths: ["/api/pull"], route: "router", model: "body", group: "ollama", errors: "ollama" },
  ollamaDelete: { method: "DELETE", paths: ["/api/delete"], route: "router", model: "body", group: "ollama", errors: "ollama" },
  /** Ollama's clients probe for a server with HEAD / (GET / is the web UI). */
  ollamaProbe: { method: "HEAD", paths: ["/"], route: "router", model: "none", group: "other", errors: "openai" },
  health: { method: "GET", paths: ["/health", "/v1/health"], route: "router", model: "none", group: "health", errors: "openai" },
  models: { method: "GET", paths: ["/models", "/v1/models"], route: "router", model: "none", group: "models", errors: "openai" },
  modelsDownload: { method: "POST", paths: ["/models"], route: "router", model: "body", group: "models", errors: "openai" },
  modelsRemove: { method: "DELETE", paths: ["/models"], route: "router", model: "query-or-body", group: "models", errors: "openai" },
  modelsLoad: { method: "POST", paths: ["/models/load"], route: "router", model: "body", group: "models", errors: "openai" },
  modelsUnload: { method: "POST", paths: ["/models/unload"], route: "router", model: "body", group: "models", errors: "openai" },
  // counted under "other", as it always was: a new label would split its series in existing dashboards
  modelsPin: { method: "POST", paths: ["/models/pin"], route: "router", model: "body", group: "other", errors: "openai" },
  modelsLogs: { method: "GET", paths: ["/models/logs"], route: "router", model: "query", group: "models", errors: "openai" },
  modelsEvents: { method: "GET", paths: ["/models/sse"], route: "router", model: "none", group: "models", errors: "openai" },
} as const satisfies Record<string, Endpoint>;

export type EndpointName = keyof typeof ENDPOINTS;

/** The table as a list, in its order. */
export const ENDPOINT_LIST: readonly Endpoint[] = Object.values(ENDPOINTS);

/**
 * Paths outside the table that still belong to a dialect: Ollama's other endpoints (pull, push, copy, …) and
 * Anthropic's (batches, files), whose clients read their own error shape even from a 404.
 */
const FAMILIES: ReadonlyArray<{ prefix: string; group: MetricsGroup; errors: ErrorDialect }> = [
  { prefix: "/api/", group: "ollama", errors: "ollama" },
  { prefix: "/v1/messages/", group: "other", errors: "anthropic" },
];

const BY_PATH = new Map<string, Endpoint>();
for (const e of ENDPOINT_LIST) for (const p of e.paths) if (!BY_PATH.has(p)) BY_PATH.set(p, e);

function familyOf(path: string) {
  return FAMILIES.find((f) => path.startsWith(f.prefix));
}

/** The error shape the client of `path` reads. */
export function errorDialectOf(path: string): ErrorDialect {
  return BY_PATH.get(path)?.errors ?? familyOf(path)?.errors ?? "openai";
}

/** The metrics group of `path` ("other" for a path of no group). */
export function metricsGroupOf(path: string): MetricsGroup {
  return BY_PATH.get(path)?.group ?? familyOf(path)?.group ?? "other";
}

/** Every path of the group's endpoints. */
export function groupPaths(group: MetricsGroup): ReadonlySet<string> {
  return new Set(ENDPOINT_LIST.filter((e) => e.group === group).flatMap((e) => e.paths));
}

/** The forwarded paths the engine's processes do not serve. */
export function unservedPaths(engine: KnownEngine): ReadonlySet<string> {
  return new Set(ENDPOINT_LIST.flatMap((e) => (e.route === "model" && !e.engines.includes(engine) ? e.paths : [])));
}

/** The keys the router's route map uses for the endpoint: "METHOD /path", one per spelling. */
export function routeKeys(e: Endpoint): string[] {
  return e.paths.map((p) => `${e.method} ${p}`);
}
