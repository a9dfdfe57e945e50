// The one table of command-line options. Parsing, `--help`, environment variables, the README's flag list and
// (later) INI keys and child-process arguments are all derived from it, as llama.cpp does with common/arg.cpp.
import type { EngineChoice } from "../engines/types.js";

export type OptionType = "int" | "float" | "string" | "bool" | "list" | "size";

export interface OptionSpec {
  /** Key in the parsed options object. */
  key: keyof ServerOptions;
  /** Every spelling, short ones first; the last one is the canonical long form. */
  names: string[];
  /** Spellings that set a bool option to false (e.g. --no-jinja). */
  negNames?: string[];
  type: OptionType;
  /** Placeholder shown in help, e.g. N or PATH. */
  valueName?: string;
  /** llama.cpp's environment variable for this option, where it has one. */
  env?: string;
  help: string;
  group: "server" | "router" | "model" | "sampling" | "logging";
  /** The router's own option: never passed to model processes, never set by a preset. */
  routerOnly?: true;
  /** corral's own model-process option that llama-server lacks: given to node-engine children only. */
  corralOnly?: true;
  choices?: readonly string[];
  min?: number;
  max?: number;
}

export interface ServerOptions {
  model?: string;
  hfRepo?: string;
  hfFile?: string;
  host: string;
  port: number;
  ctxSize: number;
  parallel: number;
  threads: number;
  nGpuLayers?: number;
  batchSize: number;
  ubatchSize: number;
  nPredict: number;
  temp: number;
  topK: number;
  topP: number;
  minP: number;
  seed: number;
  repeatPenalty: number;
  repeatLastN: number;
  presencePenalty: number;
  frequencyPenalty: number;
  alias?: string[];
  apiKey?: string[];
  apiKeyFile?: string;
  embedding: boolean;
  pooling?: string;
  jinja: boolean;
  chatTemplate?: string;
  chatTemplateFile?: string;
  metrics: boolean;
  slots: boolean;
  webui: boolean;
  offline: boolean;
  timeout: number;
  flashAttn?: string;
  mlock: boolean;
  mmap: boolean;
  logFormat: string;
  verbose: boolean;
  modelsDir?: string;
  modelsPreset?: string;
  modelsMax: number;
  modelsAutoload: boolean;
  modelsQueueMax: number;
  modelsTtl?: number;
  modelsLoadTimeout: number;
  modelsSpare: boolean;
  engine: EngineChoice;
  llamaServer?: string;
  maxBody: number;
  allowPublic: boolean;
  corsOrigins?: string[];
  help: boolean;
  version: boolean;
}

export const DEFAULTS: ServerOptions = {
  host: "127.0.0.1",
  port: 8080,
  ctxSize: 4096,
  parallel: 1,
  threads: -1,
  batchSize: 2048,
  ubatchSize: 512,
  nPredict: -1,
  temp: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  seed: -1,
  repeatPenalty: 1.0,
  repeatLastN: 64,
  presencePenalty: 0,
  frequencyPenalty: 0,
  embedding: false,
  jinja: true,
  metrics: false,
  slots: true,
  webui: true,
  offline: false,
  timeout: 600,
  mlock: false,
  mmap: true,
  logFormat: "text",
  verbose: false,
  modelsMax: 4,
  modelsAutoload: true,
  modelsQueueMax: 256,
  modelsLoadTimeout: 300,
  modelsSpare: true,
  engine: "auto",
  maxBody: 8 * 1024 * 1024,
  allowPublic: false,
  help: false,
  version: false,
};

export const OPTIONS: readonly OptionSpec[] = [
  { key: "help", names: ["-h", "--help", "--usage"], routerOnly: true, type: "bool", group: "server", help: "print this help and exit" },
  { key: "version", names: ["--version"], routerOnly: true, type: "bool", group: "server", help: "print the version and exit" },
  { key: "model", names: ["-m", "--model"], routerOnly: true, type: "string", valueName: "FILE", env: "LLAMA_ARG_MODEL", group: "model",
    help: "GGUF model to serve (without it corral runs as a router over --models-dir, the Hugging Face cache and its demo model)" },
  { key: "hfRepo", names: ["-hf", "-hfr", "--hf-repo"], routerOnly: true, type: "string", valueName: "OWNER/REPO[:QUANT]", env: "LLAMA_ARG_HF_REPO", group: "model",
    help: "serve a model from the Hugging Face cache, picked as llama-server picks it (QUANT, else Q4_K_M, else Q8_0, else the first GGUF; every shard; the repo's mmproj)" },
  { key: "hfFile", names: ["-hff", "--hf-file"], routerOnly: true, type: "string", valueName: "FILE", env: "LLAMA_ARG_HF_FILE", group: "model",
    help: "with --hf-repo: this exact file of the repo instead of the quant tag's pick" },
  { key: "alias", names: ["-a", "--alias"], routerOnly: true, type: "list", valueName: "NAME[,NAME...]", env: "LLAMA_ARG_ALIAS", group: "model",
    help: "model name(s) reported by /v1/models and accepted in requests (default: the file name)" },
  { key: "host", names: ["--host"], routerOnly: true, type: "string", valueName: "HOST", env: "LLAMA_ARG_HOST", group: "server",
    help: "address to listen on" },
  { key: "port", names: ["--port"], routerOnly: true, type: "int", valueName: "PORT", env: "LLAMA_ARG_PORT", group: "server", min: 0, max: 65535,
    help: "port to listen on (0 = any free port)" },
  { key: "ctxSize", names: ["-c", "--ctx-size"], type: "int", valueName: "N", env: "LLAMA_ARG_CTX_SIZE", group: "model", min: 0,
    help: "total context size in tokens, shared by the slots (0 = the model's training context)" },
  { key: "parallel", names: ["-np", "--parallel"], type: "int", valueName: "N", env: "LLAMA_ARG_N_PARALLEL", group: "model", min: 1, max: 256,
    help: "number of slots: requests generated at once, batched in one context" },
  { key: "threads", names: ["-t", "--threads"], type: "int", valueName: "N", env: "LLAMA_ARG_THREADS", group: "model", min: -1,
    help: "CPU threads for generation (-1 = all cores)" },
  { key: "nGpuLayers", names: ["-ngl", "--gpu-layers", "--n-gpu-layers"], type: "int", valueName: "N", env: "LLAMA_ARG_N_GPU_LAYERS", group: "model", min: -1,
    help: "layers to offload to the GPU (-1 = all; default: none, CPU only)" },
  { key: "batchSize", names: ["-b", "--batch-size"], type: "int", valueName: "N", env: "LLAMA_ARG_BATCH", group: "model", min: 1,
    help: "logical batch size for prompt processing" },
  { key: "ubatchSize", names: ["-ub", "--ubatch-size"], type: "int", valueName: "N", env: "LLAMA_ARG_UBATCH", group: "model", min: 1,
    help: "physical batch size (accepted; node-llama-cpp uses the batch size for both)" },
  { key: "flashAttn", names: ["-fa", "--flash-attn"], type: "string", valueName: "on|off|auto", env: "LLAMA_ARG_FLASH_ATTN", group: "model",
    choices: ["on", "off", "auto"], help: "flash attention" },
  { key: "mlock", names: ["--mlock"], type: "bool", env: "LLAMA_ARG_MLOCK", group: "model", help: "keep the model in RAM (no swapping)" },
  { key: "mmap", names: ["--mmap"], negNames: ["--no-mmap"], type: "bool", env: "LLAMA_ARG_MMAP", group: "model",
    help: "memory-map the model file" },
  { key: "embedding", names: ["--embedding", "--embeddings"], type: "bool", env: "LLAMA_ARG_EMBEDDINGS", group: "model",
    help: "enable /v1/embeddings for this model" },
  { key: "pooling", names: ["--pooling"], type: "string", valueName: "TYPE", env: "LLAMA_ARG_POOLING", group: "model",
    choices: ["none", "mean", "cls", "last", "rank"],
    help: "embedding pooling (accepted; the model's own pooling is used, or the last token for models without one)" },
  { key: "jinja", names: ["--jinja"], negNames: ["--no-jinja"], type: "bool", env: "LLAMA_ARG_JINJA", group: "model",
    help: "use the Jinja chat template" },
  { key: "chatTemplate", names: ["--chat-template"], type: "string", valueName: "JINJA", env: "LLAMA_ARG_CHAT_TEMPLATE", group: "model",
    help: "chat template (Jinja text) to use instead of the model's" },
  { key: "chatTemplateFile", names: ["--chat-template-file"], type: "string", valueName: "FILE", env: "LLAMA_ARG_CHAT_TEMPLATE_FILE", group: "model",
    help: "file holding the chat template to use instead of the model's" },
  { key: "nPredict", names: ["-n", "--predict", "--n-predict"], type: "int", valueName: "N", env: "LLAMA_ARG_N_PREDICT", group: "sampling", min: -1,
    help: "default maximum tokens to generate (-1 = until the context is full)" },
  { key: "temp", names: ["--temp"], type: "float", valueName: "T", group: "sampling", min: 0, help: "default temperature (0 = greedy)" },
  { key: "topK", names: ["--top-k"], type: "int", valueName: "N", group: "sampling", min: 0, help: "default top-k (0 = off)" },
  { key: "topP", names: ["--top-p"], type: "float", valueName: "P", group: "sampling", min: 0, max: 1, help: "default top-p (1 = off)" },
  { key: "minP", names: ["--min-p"], type: "float", valueName: "P", group: "sampling", min: 0, max: 1, help: "default min-p (0 = off)" },
  { key: "seed", names: ["-s", "--seed"], type: "int", valueName: "N", group: "sampling", help: "default seed (-1 = random)" },
  { key: "repeatPenalty", names: ["--repeat-penalty"], type: "float", valueName: "N", group: "sampling", min: 0,
    help: "default repeat penalty (1 = off)" },
  { key: "repeatLastN", names: ["--repeat-last-n"], type: "int", valueName: "N", group: "sampling", min: 0,
    help: "tokens looked back on for the penalties" },
  { key: "presencePenalty", names: ["--presence-penalty"], type: "float", valueName: "N", group: "sampling", min: -2, max: 2,
    help: "default presence penalty" },
  { key: "frequencyPenalty", names: ["--frequency-penalty"], type: "float", valueName: "N", group: "sampling", min: -2, max: 2,
    help: "default frequency penalty" },
  { key: "apiKey", names: ["--api-key"], routerOnly: true, type: "list", valueName: "KEY[,KEY...]", env: "LLAMA_API_KEY", group: "server",
    help: "require one of these keys (Authorization: Bearer KEY or X-Api-Key: KEY)" },
  { key: "apiKeyFile", names: ["--api-key-file"], routerOnly: true, type: "string", valueName: "FILE", group: "server",
    help: "file with one API key per line" },
  { key: "metrics", names: ["--metrics"], type: "bool", env: "LLAMA_ARG_ENDPOINT_METRICS", group: "server",
    help: "serve Prometheus metrics at /metrics" },
  { key: "slots", names: ["--slots"], negNames: ["--no-slots"], type: "bool", env: "LLAMA_ARG_ENDPOINT_SLOTS", group: "server",
    help: "serve slot state at /slots" },
  { key: "webui", names: ["--webui"], negNames: ["--no-webui"], routerOnly: true, type: "bool", env: "LLAMA_ARG_WEBUI", group: "server",
    help: "serve the web page at / (corral serves a short status page)" },
  { key: "offline", names: ["--offline"], type: "bool", env: "LLAMA_OFFLINE", group: "server",
    help: "never touch the network (corral never does; accepted for compatibility)" },
  { key: "maxBody", names: ["--max-body"], corralOnly: true, type: "size", valueName: "BYTES", env: "LLAMA_ARG_MAX_BODY", group: "server", min: 1024,
    help: "largest request body accepted (suffixes k, m, g); larger ones get 413" },
  { key: "corsOrigins", names: ["--cors-origins"], type: "list", valueName: "ORIGIN[,ORIGIN...]", env: "LLAMA_ARG_CORS_ORIGINS", group: "server",
    routerOnly: true, help: "allow browser pages from these origins (* for any) to call the API (default: CORS off)" },
  { key: "allowPublic", names: ["--allow-public"], type: "bool", group: "server", routerOnly: true,
    help: "let the router listen on a non-loopback --host without --api-key (it refuses otherwise)" },
  { key: "timeout", names: ["-to", "--timeout"], type: "int", valueName: "N", env: "LLAMA_ARG_TIMEOUT", group: "server", min: 0,
    help: "HTTP read/write timeout in seconds (0 = none)" },
  { key: "logFormat", names: ["--log-format"], corralOnly: true, type: "string", valueName: "text|json", group: "logging", choices: ["text", "json"],
    help: "log line format" },
  { key: "verbose", names: ["-v", "--verbose", "--log-verbose"], type: "bool", group: "logging", help: "log every request" },
  { key: "modelsDir", names: ["--models-dir"], type: "string", valueName: "DIR", env: "LLAMA_ARG_MODELS_DIR", group: "router", routerOnly: true,
    help: "router: serve every model in DIR (top-level *.gguf files and one model per subfolder)" },
  { key: "modelsPreset", names: ["--models-preset"], type: "string", valueName: "FILE", env: "LLAMA_ARG_MODELS_PRESET", group: "router", routerOnly: true,
    help: "router: INI file of per-model settings ([*] for all, [id] per model)" },
  { key: "modelsMax", names: ["--models-max"], type: "int", valueName: "N", env: "LLAMA_ARG_MODELS_MAX", group: "router", routerOnly: true, min: 0,
    help: "router: models loaded at once; the least recently used idle one is unloaded past it (0 = unlimited)" },
  { key: "modelsAutoload", names: ["--models-autoload"], negNames: ["--no-models-autoload"], type: "bool", env: "LLAMA_ARG_MODELS_AUTOLOAD",
    group: "router", routerOnly: true, help: "router: load a model on the first request that names it (per request: ?autoload=false)" },
  { key: "modelsQueueMax", names: ["--models-queue-max"], type: "int", valueName: "N", env: "LLAMA_ARG_MODELS_QUEUE_MAX", group: "router",
    routerOnly: true, min: 0, help: "router: requests waiting for a model at once; past it 503 with Retry-After" },
  { key: "modelsTtl", names: ["--models-ttl"], type: "int", valueName: "SECONDS", env: "LLAMA_ARG_MODELS_TTL", group: "router", routerOnly: true, min: 1,
    help: "router: unload a model idle this long (per model: preset key ttl; default: never)" },
  { key: "modelsLoadTimeout", names: ["--models-load-timeout"], type: "int", valueName: "SECONDS", env: "LLAMA_ARG_MODELS_LOAD_TIMEOUT", group: "router",
    routerOnly: true, min: 1, help: "router: a model process not ready after this long is stopped and its load fails" },
  { key: "modelsSpare", names: ["--models-spare"], negNames: ["--no-models-spare"], type: "bool", env: "LLAMA_ARG_MODELS_SPARE", group: "router",
    routerOnly: true, help: "router: keep one warm model process (runtime and backend loaded, no model) so a load costs only the model's own load time" },
  { key: "engine", names: ["--engine"], type: "string", valueName: "auto|node|llama-server", env: "CORRAL_ENGINE", group: "router", routerOnly: true,
    choices: ["auto", "node", "llama-server"],
    help: "router: what runs each model (per model: preset key engine): llama.cpp's llama-server, corral's built-in node engine, or auto = llama-server when a binary is found, else node" },
  { key: "llamaServer", names: ["--llama-server"], type: "string", valueName: "PATH", group: "router", routerOnly: true,
    help: "router: the llama-server binary (per model: preset key llama-server; default: $LLAMA_SERVER_BIN, the one `corral engine build` made, or llama-server on PATH)" },
];

/**
 * llama-server flags corral accepts but does not implement yet: each gives a one-line warning instead of an error,
 * so existing llama-server command lines keep working. The number is how many values the flag takes.
 */
export const ACCEPTED_UNIMPLEMENTED: Readonly<Record<string, number>> = {
  "-tb": 1, "--threads-batch": 1, "-C": 1, "--cpu-mask": 1, "-Cr": 1, "--cpu-range": 1, "--cpu-strict": 1, "--prio": 1,
  "--poll": 1, "-ctk": 1, "--cache-type-k": 1, "-ctv": 1, "--cache-type-v": 1, "--rope-scaling": 1, "--rope-scale": 1,
  "--rope-freq-base": 1, "--rope-freq-scale": 1, "--yarn-orig-ctx": 1, "--keep": 1, "-dev": 1, "--device": 1,
  "-sm": 1, "--split-mode": 1, "-ts": 1, "--tensor-split": 1, "-mg": 1, "--main-gpu": 1, "--override-kv": 1,
  "--lora": 1, "--lora-scaled": 2, "--control-vector": 1, "-md": 1, "--model-draft": 1, "--draft-max": 1, "--draft-min": 1,
  "-ngld": 1, "--gpu-layers-draft": 1, "-cd": 1, "--ctx-size-draft": 1, "--mmproj": 1, "--mmproj-url": 1,
  "-hft": 1, "--hf-token": 1, "-mu": 1, "--model-url": 1,
  "--path": 1, "--api-prefix": 1, "--ssl-key-file": 1, "--ssl-cert-file": 1, "--threads-http": 1, "--cache-reuse": 1,
  "-sps": 1, "--slot-prompt-similarity": 1, "--slot-save-path": 1, "--reasoning-format": 1, "--reasoning-budget": 1,
  "--chat-template-kwargs": 1, "-lv": 1, "--verbosity": 1, "--log-verbosity": 1, "--log-file": 1, "--grammar": 1,
  "--grammar-file": 1, "-j": 1, "--json-schema": 1, "--samplers": 1, "--sampling-seq": 1, "--typical": 1,
  "--dry-multiplier": 1, "--dry-base": 1, "--dry-allowed-length": 1, "--dry-penalty-last-n": 1, "--mirostat": 1,
  "--mirostat-lr": 1, "--mirostat-ent": 1, "-l": 1, "--logit-bias": 1, "--xtc-probability": 1, "--xtc-threshold": 1,
  "--dynatemp-range": 1, "--dynatemp-exp": 1, "--top-nsigma": 1, "--sleep-idle-seconds": 1, "--media-path": 1,
  "-cram": 1, "--cache-ram": 1, "--n-cpu-moe": 1, "-ot": 1, "--override-tensor": 1, "--numa": 1, "-dt": 1,
  "--defrag-thold": 1, "--tags": 1, "--webui-config": 1, "--webui-config-file": 1, "-r": 1, "--reverse-prompt": 1,
  "--log-colors": 1, "-cb": 0, "--cont-batching": 0, "-nocb": 0, "--no-cont-batching": 0, "-nkvo": 0, "--no-kv-offload": 0,
  "--no-warmup": 0, "--check-tensors": 0, "--no-context-shift": 0, "--context-shift": 0, "--log-disable": 0,
  "--log-prefix": 0, "--log-timestamps": 0, "--no-perf": 0, "-sp": 0, "--special": 0, "--cpu-moe": 0, "-kvu": 0,
  "--kv-unified": 0, "--props": 0, "--no-op-offload": 0, "--swa-full": 0, "--ignore-eos": 0, "-e": 0, "--escape": 0,
  "--no-escape": 0, "--verbose-prompt": 0, "--reranking": 0, "--rerank": 0, "--no-prefill-assistant": 0,
};
