// The one table of command-line options. Parsing, `--help`, environment variables, the README's flag list and
// (later) INI keys and child-process arguments are all derived from it, as llama.cpp does with common/arg.cpp.
import { parseOnOffAuto } from "../util/on-off-auto.js";
import { checkApiPrefix, parseBudget, isLoraScaledItem, parseGpuLayers, parseJsonObject, parseKvOverride, parseLogitBias, parseLoraScaled, parseReasoningSwitch } from "./value-formats.js";

/** What a user may ask for with --engine or the preset key `engine`. */
export type EngineChoice = "auto" | "node" | "llama-server";

/** "list": comma-separated values; "strings": one value per occurrence, commas included (e.g. -r ", "). */
export type OptionType = "int" | "float" | "string" | "bool" | "list" | "strings" | "size";

interface OptionSpecBase {
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
  /** corral's own model-process option that llama-server lacks: given to node-engine children only. */
  corralOnly?: true;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** Each occurrence adds to the values instead of replacing them, as llama.cpp's --lora or -r (lists, strings). */
  repeat?: true;
  /** Checks one value (one item of a list) beyond its type; throws an Error whose message the CLI reports. */
  check?: (value: string) => void;
  /** A flag llama.cpp keeps only for old command lines: using it gives this warning. */
  deprecated?: string;
  /** For values that hold file paths beyond a plain FILE or DIR (lists, FILE:SCALE): resolves each path in them. */
  resolvePaths?: (value: unknown, resolve: (path: string) => string) => unknown;
  /** The older two-argument form (`--lora-scaled FILE SCALE`): true when a value needs the next argument after a colon. */
  pairsWithNext?: (value: string) => boolean;
}

/**
 * One option. An entry's routerOnly flag and the half of ServerOptions its key belongs to must agree, so the type
 * system keeps ModelOptions and RouterOnlyOptions in step with the table.
 */
export type OptionSpec = ModelOptionSpec | RouterOnlyOptionSpec;

interface ModelOptionSpec extends OptionSpecBase {
  /** Key in the parsed options object. */
  key: keyof ModelOptions;
  routerOnly?: undefined;
}

interface RouterOnlyOptionSpec extends OptionSpecBase {
  key: keyof RouterOnlyOptions;
  /** The router's own option: never passed to model processes, never set by a preset. */
  routerOnly: true;
}

/** What a model process reads: the options a router passes on to its children (and presets may set). */
export interface ModelOptions {
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
  tags?: string[];
  embedding: boolean;
  reranking: boolean;
  pooling?: string;
  jinja: boolean;
  chatTemplate?: string;
  chatTemplateFile?: string;
  metrics: boolean;
  slots: boolean;
  offline: boolean;
  timeout: number;
  flashAttn?: string;
  mlock: boolean;
  mmap: boolean;
  logFormat: string;
  verbose: boolean;
  maxBody: number;
  tools?: string[];
  props: boolean;
  sleepIdleSeconds: number;
  cacheTypeK?: string;
  cacheTypeV?: string;
  swaFull: boolean;
  kvUnified: boolean;
  checkTensors: boolean;
  overrideKv?: string[];
  lora?: string[];
  loraScaled?: string[];
  modelDraft?: string;
  draftMax: number;
  draftMin: number;
  draftPMin: number;
  gpuLayersDraft?: string;
  ctxSizeDraft: number;
  contextShift: boolean;
  keep: number;
  reversePrompt?: string[];
  ignoreEos: boolean;
  escape: boolean;
  special: boolean;
  verbosePrompt: boolean;
  uiConfig?: string;
  uiConfigFile?: string;
  slotSavePath?: string;
  slotPromptSimilarity: number;
  cacheReuse: number;
  defragThold?: number;
  logitBias?: string[];
  grammar?: string;
  grammarFile?: string;
  jsonSchema?: string;
  jsonSchemaFile?: string;
  dryMultiplier: number;
  dryBase: number;
  dryAllowedLength: number;
  dryPenaltyLastN: number;
  drySequenceBreaker?: string[];
  xtcProbability: number;
  xtcThreshold: number;
  chatTemplateKwargs?: string;
  /** none | auto | deepseek | deepseek-legacy: where a thinking model's thought goes in chat answers. */
  reasoningFormat: string;
  /** on | off | auto (enable_thinking for the template); undefined = auto. */
  reasoning?: string;
  /** Tokens a thought may take before its end is forced; -1 = unlimited. */
  reasoningBudget: number;
  reasoningBudgetMessage?: string;
}

/**
 * The router's own options (routerOnly in the table): never passed to a model process, never set by a preset. A model
 * process run by itself reads a few of them too (its address, keys, web UI and log); a router sets those for its
 * children itself.
 */
export interface RouterOnlyOptions {
  model?: string;
  hfRepo?: string;
  hfFile?: string;
  host: string;
  port: number;
  alias?: string[];
  apiKey?: string[];
  apiKeyFile?: string;
  webui: boolean;
  modelsDir?: string;
  modelsPreset?: string;
  modelsMax: number;
  modelsAutoload: boolean;
  modelsQueueMax: number;
  modelsTtl?: number;
  modelsLoadTimeout: number;
  /** --models-memory: RAM budget for models, as given (a size or a percentage); undefined = available RAM minus a reserve. */
  modelsMemory?: string;
  /** --models-vram: per-GPU budget, as given; undefined = free VRAM where a GPU is used. */
  modelsVram?: string;
  modelsHealthTimeout: number;
  modelsSpare: boolean;
  engine: EngineChoice;
  llamaServer?: string;
  allowPublic: boolean;
  corsOrigins?: string[];
  uiMcpProxy: boolean;
  logDisable: boolean;
  logFile?: string;
  logColors: string;
  logPrefix: boolean;
  logTimestamps: boolean;
  verbosity: number;
  apiPrefix?: string;
  sslKeyFile?: string;
  sslCertFile?: string;
  path?: string;
  help: boolean;
  version: boolean;
  /** --cluster: the NATS server(s) of the cluster, as given; undefined = no cluster. */
  cluster?: string[];
  nodeName?: string;
  advertise?: string;
  clusterKey?: string;
  clusterKeyFile?: string;
  /** Seconds without a heartbeat before a node counts as down. */
  clusterTtl: number;
}

/** Everything the command line sets. */
export type ServerOptions = ModelOptions & RouterOnlyOptions;

// Checked when compiling: a key in both halves would fit either kind of table entry, whatever its flag says.
const halvesAreDisjoint: [Extract<keyof ModelOptions, keyof RouterOnlyOptions>] extends [never] ? true : never = true;
void halvesAreDisjoint;

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
  reranking: false,
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
  modelsHealthTimeout: 30,
  modelsSpare: true,
  engine: "auto",
  maxBody: 8 * 1024 * 1024,
  allowPublic: false,
  uiMcpProxy: false,
  logDisable: false,
  logColors: "auto",
  logPrefix: true,
  logTimestamps: false,
  verbosity: 3,
  props: false,
  sleepIdleSeconds: -1,
  swaFull: false,
  kvUnified: false,
  checkTensors: false,
  draftMax: 3,
  draftMin: 0,
  draftPMin: 0,
  ctxSizeDraft: 0,
  contextShift: false,
  keep: 0,
  ignoreEos: false,
  escape: true,
  special: false,
  reasoningFormat: "auto",
  reasoningBudget: -1,
  verbosePrompt: false,
  slotPromptSimilarity: 0.1,
  cacheReuse: 0,
  dryMultiplier: 0,
  dryBase: 1.75,
  dryAllowedLength: 2,
  dryPenaltyLastN: 64,
  xtcProbability: 0,
  xtcThreshold: 0.1,
  help: false,
  version: false,
  clusterTtl: 10,
};

/** llama.cpp's KV cache types (common/arg.cpp's kv_cache_types). */
export const KV_CACHE_TYPES = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"] as const;

export const OPTIONS: readonly OptionSpec[] = [
  { key: "help", names: ["-h", "--help", "--usage"], routerOnly: true, type: "bool", group: "server", help: "print this help and exit" },
  { key: "version", names: ["--version"], routerOnly: true, type: "bool", group: "server", help: "print the version and exit" },
  { key: "model", names: ["-m", "--model"], routerOnly: true, type: "string", valueName: "FILE", env: "LLAMA_ARG_MODEL", group: "model",
    help: "GGUF model to serve (without it corral runs as a router over --models-dir, the Hugging Face cache and its demo models)" },
  { key: "hfRepo", names: ["-hf", "-hfr", "--hf-repo"], routerOnly: true, type: "string", valueName: "OWNER/REPO[:QUANT]", env: "LLAMA_ARG_HF_REPO", group: "model",
    help: "serve a model from the Hugging Face cache, picked as llama-server picks it (QUANT, else Q4_K_M, else Q8_0, else the first GGUF; every shard; the repo's mmproj)" },
  { key: "hfFile", names: ["-hff", "--hf-file"], routerOnly: true, type: "string", valueName: "FILE", env: "LLAMA_ARG_HF_FILE", group: "model",
    help: "with --hf-repo: this exact file of the repo instead of the quant tag's pick" },
  { key: "alias", names: ["-a", "--alias"], routerOnly: true, type: "list", valueName: "NAME[,NAME...]", env: "LLAMA_ARG_ALIAS", group: "model",
    help: "model name(s) reported by /v1/models and accepted in requests; the first in sorted order is the model's id (default: the file name)" },
  { key: "tags", names: ["--tags"], type: "list", valueName: "TAG[,TAG...]", env: "LLAMA_ARG_TAGS", group: "model",
    help: "informational tags reported by /v1/models (not used for routing)" },
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
  { key: "reranking", names: ["--rerank", "--reranking"], type: "bool", env: "LLAMA_ARG_RERANKING", group: "model",
    help: "enable /rerank (also /v1/rerank, /reranking, /v1/reranking): score documents against a query" },
  { key: "pooling", names: ["--pooling"], type: "string", valueName: "TYPE", env: "LLAMA_ARG_POOLING", group: "model",
    choices: ["none", "mean", "cls", "last", "rank"],
    help: "embedding pooling: rank with --embedding is --reranking; none makes /v1/embeddings refuse, as llama-server; vectors still come from the model's own pooling (the last token for models without one)" },
  { key: "jinja", names: ["--jinja"], negNames: ["--no-jinja"], type: "bool", env: "LLAMA_ARG_JINJA", group: "model",
    help: "use the Jinja chat template" },
  { key: "chatTemplate", names: ["--chat-template"], type: "string", valueName: "JINJA", env: "LLAMA_ARG_CHAT_TEMPLATE", group: "model",
    help: "chat template (Jinja text) to use instead of the model's" },
  { key: "chatTemplateFile", names: ["--chat-template-file"], type: "string", valueName: "FILE", env: "LLAMA_ARG_CHAT_TEMPLATE_FILE", group: "model",
    help: "file holding the chat template to use instead of the model's" },
  { key: "chatTemplateKwargs", names: ["--chat-template-kwargs"], type: "string", valueName: "JSON", env: "LLAMA_ARG_CHAT_TEMPLATE_KWARGS",
    group: "model", check: (v) => void parseJsonObject(v),
    help: "extra variables for the chat template, a JSON object, e.g. '{\"enable_thinking\":false}' (a request's chat_template_kwargs go over them)" },
  { key: "reasoningFormat", names: ["--reasoning-format"], type: "string", valueName: "FORMAT", env: "LLAMA_ARG_THINK", group: "model",
    choices: ["none", "auto", "deepseek", "deepseek-legacy"],
    help: "where a thinking model's thought goes in chat answers: none leaves it in content, tags and all; auto and deepseek put it in message.reasoning_content (delta.reasoning_content streamed); deepseek-legacy does the same but streams it inline in content (a request's reasoning_format overrides)" },
  { key: "reasoning", names: ["-rea", "--reasoning"], type: "string", valueName: "on|off|auto", env: "LLAMA_ARG_REASONING", group: "model",
    check: (v) => void parseReasoningSwitch(v),
    help: "let a thinking model think: sets the template's enable_thinking (auto = on for templates that can think; a request's chat_template_kwargs override it)" },
  { key: "reasoningBudget", names: ["--reasoning-budget"], type: "int", valueName: "N", env: "LLAMA_ARG_THINK_BUDGET", group: "model", min: -1,
    help: "tokens a thought may take before its closing tag is forced: -1 unlimited, 0 none (a request's reasoning_budget_tokens overrides)" },
  { key: "reasoningBudgetMessage", names: ["--reasoning-budget-message"], type: "string", valueName: "MESSAGE", env: "LLAMA_ARG_THINK_BUDGET_MESSAGE",
    group: "model", help: "text forced before the closing tag when a thought runs out of budget (default: none)" },
  { key: "cacheTypeK", names: ["-ctk", "--cache-type-k"], type: "string", valueName: "TYPE", env: "LLAMA_ARG_CACHE_TYPE_K", group: "model",
    choices: KV_CACHE_TYPES, help: "KV cache data type for K (default: f16; quantized types need flash attention for V on most backends)" },
  { key: "cacheTypeV", names: ["-ctv", "--cache-type-v"], type: "string", valueName: "TYPE", env: "LLAMA_ARG_CACHE_TYPE_V", group: "model",
    choices: KV_CACHE_TYPES, help: "KV cache data type for V (default: f16)" },
  { key: "swaFull", names: ["--swa-full"], type: "bool", env: "LLAMA_ARG_SWA_FULL", group: "model",
    help: "full-size KV cache for sliding-window-attention models: more memory, but any cached prefix can be reused" },
  { key: "kvUnified", names: ["-kvu", "--kv-unified"], negNames: ["-no-kvu", "--no-kv-unified"], type: "bool", env: "LLAMA_ARG_KV_UNIFIED",
    group: "model", help: "every slot may use the whole context (-c) rather than an equal share of it (corral gives each slot a cache of that size)" },
  { key: "checkTensors", names: ["--check-tensors"], type: "bool", group: "model",
    help: "check the model's tensor data for invalid values while loading (a slower load)" },
  { key: "overrideKv", names: ["--override-kv"], type: "list", repeat: true, valueName: "KEY=TYPE:VALUE[,...]", group: "model",
    check: (v) => void parseKvOverride(v),
    help: "override model metadata, TYPE int, float, bool or str (e.g. tokenizer.ggml.add_bos_token=bool:false); repeatable" },
  { key: "lora", names: ["--lora"], type: "list", repeat: true, valueName: "FILE[,FILE...]", group: "model",
    resolvePaths: (v, resolve) => (v as string[]).map(resolve),
    help: "LoRA adapter(s) applied to the model at scale 1; repeatable" },
  { key: "loraScaled", names: ["--lora-scaled"], type: "list", repeat: true, valueName: "FILE:SCALE[,...]", group: "model",
    check: (v) => void parseLoraScaled(v), pairsWithNext: (v) => !isLoraScaledItem(v),
    resolvePaths: (v, resolve) => (v as string[]).map((item) => {
      const { file, scale } = parseLoraScaled(item);
      return `${resolve(file)}:${scale}`;
    }),
    help: "LoRA adapter(s) with their scale (the older --lora-scaled FILE SCALE works too); repeatable" },
  { key: "modelDraft", names: ["-md", "--model-draft", "--spec-draft-model"], type: "string", valueName: "FILE", env: "LLAMA_ARG_SPEC_DRAFT_MODEL",
    group: "model", help: "draft model for speculative decoding: a small model with the same vocabulary drafts tokens that the model checks in one batch" },
  { key: "draftMax", names: ["--draft", "--draft-n", "--draft-max", "--spec-draft-n-max"], type: "int", valueName: "N", env: "LLAMA_ARG_SPEC_DRAFT_N_MAX",
    group: "model", min: 1, help: "with a draft model: most tokens drafted at a time" },
  { key: "draftMin", names: ["--draft-min", "--draft-n-min", "--spec-draft-n-min"], type: "int", valueName: "N", env: "LLAMA_ARG_SPEC_DRAFT_N_MIN",
    group: "model", min: 0, help: "with a draft model: fewest tokens drafted before the model checks them" },
  { key: "draftPMin", names: ["--draft-p-min", "--spec-draft-p-min"], type: "float", valueName: "P", env: "LLAMA_ARG_SPEC_DRAFT_P_MIN", group: "model",
    min: 0, max: 1, help: "with a draft model: drafting pauses at a token the draft model gives less than this probability (0 = never)" },
  { key: "gpuLayersDraft", names: ["-ngld", "--gpu-layers-draft", "--n-gpu-layers-draft", "--spec-draft-ngl"], type: "string", valueName: "N|auto|all",
    env: "LLAMA_ARG_N_GPU_LAYERS_DRAFT", group: "model", check: (v) => void parseGpuLayers(v),
    help: "draft model layers offloaded to the GPU (default: all when the model is offloaded, else none)" },
  { key: "ctxSizeDraft", names: ["-cd", "--ctx-size-draft"], corralOnly: true, type: "int", valueName: "N", group: "model", min: 0,
    help: "draft model context per slot (0 = the model's); llama-server sizes it itself and no longer has this flag" },
  { key: "contextShift", names: ["--context-shift"], negNames: ["--no-context-shift"], type: "bool", env: "LLAMA_ARG_CONTEXT_SHIFT", group: "model",
    help: "when a slot's context fills up while generating, discard half of the tokens after --keep and go on (without it the generation stops, finish_reason length)" },
  { key: "keep", names: ["--keep"], type: "int", valueName: "N", group: "model", min: -1,
    help: "with --context-shift: tokens at the start of the prompt never discarded (-1 = the whole prompt)" },
  { key: "slotPromptSimilarity", names: ["-sps", "--slot-prompt-similarity"], type: "float", valueName: "SIMILARITY", group: "model",
    min: 0, max: 1, help: "a request goes to the idle slot whose cached prompt shares the largest part of its prompt, if above this share; else to the least recently used slot (0 = always that one)" },
  { key: "cacheReuse", names: ["--cache-reuse"], type: "int", valueName: "N", env: "LLAMA_ARG_CACHE_REUSE", group: "model", min: 0,
    help: "reuse cached chunks of at least N tokens found later in a slot's cache, shifting them into place (0 = only the common prefix)" },
  { key: "defragThold", names: ["-dt", "--defrag-thold"], type: "float", valueName: "N", env: "LLAMA_ARG_DEFRAG_THOLD", group: "model",
    deprecated: "deprecated and no longer necessary (llama.cpp defragments the KV cache itself); ignored, as by llama-server",
    help: "deprecated in llama.cpp, which no longer needs it: accepted with llama-server's warning" },
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
  { key: "dryMultiplier", names: ["--dry-multiplier"], type: "float", valueName: "N", group: "sampling", min: 0,
    help: "default DRY (don't repeat yourself) penalty strength (0 = off)" },
  { key: "dryBase", names: ["--dry-base"], type: "float", valueName: "N", group: "sampling", min: 1,
    help: "default DRY base: the penalty grows as base^(repeat length - allowed length)" },
  { key: "dryAllowedLength", names: ["--dry-allowed-length"], type: "int", valueName: "N", group: "sampling", min: 0,
    help: "default DRY allowed length: repeats up to this long are not penalized" },
  { key: "dryPenaltyLastN", names: ["--dry-penalty-last-n"], type: "int", valueName: "N", group: "sampling", min: -1,
    help: "default tokens DRY scans for repeats (0 = off, -1 = the whole context)" },
  { key: "drySequenceBreaker", names: ["--dry-sequence-breaker"], type: "strings", repeat: true, valueName: "STRING", group: "sampling",
    help: "a DRY sequence breaker, repeatable; replaces the defaults (newline, :, \", *); none for no breakers" },
  { key: "xtcProbability", names: ["--xtc-probability"], type: "float", valueName: "N", group: "sampling", min: 0, max: 1,
    help: "default XTC (exclude top choices) probability (0 = off)" },
  { key: "xtcThreshold", names: ["--xtc-threshold"], type: "float", valueName: "N", group: "sampling", min: 0, max: 1,
    help: "default XTC threshold (above 0.5 = off)" },
  { key: "logitBias", names: ["-l", "--logit-bias"], type: "strings", repeat: true, valueName: "TOKEN_ID(+/-)BIAS", group: "sampling",
    check: (v) => void parseLogitBias(v), help: "default logit bias, e.g. 15043+1, 15043-1 or 15043-inf; repeatable (a request's logit_bias replaces them)" },
  { key: "grammar", names: ["--grammar"], type: "string", valueName: "GBNF", group: "sampling",
    help: "default GBNF grammar the output must follow (a request's grammar, json_schema or response_format replaces it)" },
  { key: "grammarFile", names: ["--grammar-file"], type: "string", valueName: "FILE", group: "sampling", help: "file holding the default GBNF grammar" },
  { key: "jsonSchema", names: ["-j", "--json-schema"], type: "string", valueName: "SCHEMA", group: "sampling", check: (v) => void parseJsonObject(v),
    help: "default JSON schema the output must follow, e.g. {} for any JSON object" },
  { key: "jsonSchemaFile", names: ["-jf", "--json-schema-file"], type: "string", valueName: "FILE", group: "sampling",
    help: "file holding the default JSON schema" },
  { key: "reversePrompt", names: ["-r", "--reverse-prompt"], type: "strings", repeat: true, valueName: "PROMPT", group: "sampling",
    help: "default stop string, repeatable (for requests that give no stop)" },
  { key: "escape", names: ["-e", "--escape"], negNames: ["--no-escape"], type: "bool", group: "sampling",
    help: "read escapes (\\n, \\r, \\t, \\', \\\", \\\\, \\xHH) in -r and --dry-sequence-breaker values" },
  { key: "special", names: ["-sp", "--special"], type: "bool", group: "sampling",
    help: "write special tokens (e.g. <|im_start|>) into the generated text instead of dropping them" },
  { key: "ignoreEos", names: ["--ignore-eos"], type: "bool", group: "sampling", help: "default: generate past end-of-generation tokens" },
  { key: "apiKey", names: ["--api-key"], routerOnly: true, type: "list", valueName: "KEY[,KEY...]", env: "LLAMA_API_KEY", group: "server",
    help: "require one of these keys (Authorization: Bearer KEY or X-Api-Key: KEY)" },
  { key: "apiKeyFile", names: ["--api-key-file"], routerOnly: true, type: "string", valueName: "FILE", group: "server",
    help: "file with one API key per line" },
  { key: "metrics", names: ["--metrics"], type: "bool", env: "LLAMA_ARG_ENDPOINT_METRICS", group: "server",
    help: "serve Prometheus metrics at /metrics" },
  { key: "slots", names: ["--slots"], negNames: ["--no-slots"], type: "bool", env: "LLAMA_ARG_ENDPOINT_SLOTS", group: "server",
    help: "serve slot state at /slots" },
  { key: "slotSavePath", names: ["--slot-save-path"], type: "string", valueName: "DIR", group: "server",
    help: "enable POST /slots/ID?action=save|restore|erase, which save a slot's KV cache to a file in DIR and load it back" },
  { key: "webui", names: ["--ui", "--webui"], negNames: ["--no-ui", "--no-webui"], routerOnly: true, type: "bool", env: "LLAMA_ARG_WEBUI", group: "server",
    help: "serve the web UI at / (models, logs, chat; see Web UI)" },
  { key: "uiConfig", names: ["--ui-config", "--webui-config"], type: "string", valueName: "JSON", env: "LLAMA_ARG_UI_CONFIG", group: "server",
    check: (v) => void parseJsonObject(v), help: "web UI settings, a JSON object, reported by /props as ui_settings" },
  { key: "uiConfigFile", names: ["--ui-config-file", "--webui-config-file"], type: "string", valueName: "FILE", env: "LLAMA_ARG_UI_CONFIG_FILE",
    group: "server", help: "file holding the web UI settings (a JSON object)" },
  { key: "path", names: ["--path"], routerOnly: true, type: "string", valueName: "DIR", env: "LLAMA_ARG_STATIC_PATH", group: "server",
    help: "serve the static files of DIR (index.html at /) ahead of the API, as llama-server does for a custom web UI" },
  { key: "offline", names: ["--offline"], type: "bool", env: "LLAMA_OFFLINE", group: "server",
    help: "never touch the network (corral never does; accepted for compatibility)" },
  { key: "maxBody", names: ["--max-body"], corralOnly: true, type: "size", valueName: "BYTES", env: "LLAMA_ARG_MAX_BODY", group: "server", min: 1024,
    help: "largest request body accepted (suffixes k, m, g); larger ones get 413" },
  { key: "corsOrigins", names: ["--cors-origins"], type: "list", valueName: "ORIGIN[,ORIGIN...]", env: "LLAMA_ARG_CORS_ORIGINS", group: "server",
    routerOnly: true,
    help: "allow browser pages from these origins to call the API: * for any, localhost for any loopback origin, '' for none (default: * for -m as llama-server, none for the router; localhost with --tools)" },
  { key: "tools", names: ["--tools"], type: "list", valueName: "TOOL[,TOOL...]", env: "LLAMA_ARG_TOOLS", group: "server",
    help: "llama-server's built-in agent tools (a router passes it to llama-server models; corral's built-in engine has none and warns); as in llama-server, it limits the default --cors-origins to localhost" },
  { key: "uiMcpProxy", names: ["--ui-mcp-proxy", "--webui-mcp-proxy"], negNames: ["--no-ui-mcp-proxy", "--no-webui-mcp-proxy"], routerOnly: true,
    type: "bool", env: "LLAMA_ARG_UI_MCP_PROXY", group: "server",
    help: "-m: serve /cors-proxy?url=URL, which fetches URL for a browser page (forwarding only x-llama-server-proxy-header-* headers); experimental, do not enable in untrusted environments" },
  { key: "allowPublic", names: ["--allow-public"], type: "bool", group: "server", routerOnly: true,
    help: "let the router listen on a non-loopback --host without --api-key (it refuses otherwise)" },
  { key: "timeout", names: ["-to", "--timeout"], type: "int", valueName: "N", env: "LLAMA_ARG_TIMEOUT", group: "server", min: 0,
    help: "HTTP read/write timeout in seconds (0 = none)" },
  { key: "apiPrefix", names: ["--api-prefix"], routerOnly: true, type: "string", valueName: "PREFIX", env: "LLAMA_ARG_API_PREFIX", group: "server",
    check: checkApiPrefix, help: "serve every route under this path, e.g. /api (without the trailing slash)" },
  { key: "sslKeyFile", names: ["--ssl-key-file"], routerOnly: true, type: "string", valueName: "FILE", env: "LLAMA_ARG_SSL_KEY_FILE", group: "server",
    help: "PEM private key: with --ssl-cert-file, serve HTTPS" },
  { key: "sslCertFile", names: ["--ssl-cert-file"], routerOnly: true, type: "string", valueName: "FILE", env: "LLAMA_ARG_SSL_CERT_FILE", group: "server",
    help: "PEM certificate (chain): with --ssl-key-file, serve HTTPS" },
  { key: "props", names: ["--props"], type: "bool", env: "LLAMA_ARG_ENDPOINT_PROPS", group: "server",
    help: "accept POST /props (as in llama-server it changes nothing yet; without it POST /props answers 501)" },
  { key: "sleepIdleSeconds", names: ["--sleep-idle-seconds"], type: "int", valueName: "SECONDS", group: "server", min: -1,
    check: (v) => { if (Number(v) === 0) throw new Error("must be -1 (never) or at least 1"); },
    help: "free the model after this long without requests, and load it again on the next request that needs it (-1 = never)" },
  { key: "logFormat", names: ["--log-format"], corralOnly: true, type: "string", valueName: "text|json", group: "logging", choices: ["text", "json"],
    help: "log line format" },
  { key: "verbose", names: ["-v", "--verbose", "--log-verbose"], type: "bool", group: "logging", help: "log every request" },
  { key: "verbosePrompt", names: ["--verbose-prompt"], corralOnly: true, type: "bool", group: "logging",
    help: "log each request's prompt as token ids and their text (the bundled llama-server no longer takes this llama.cpp flag)" },
  { key: "verbosity", names: ["-lv", "--verbosity", "--log-verbosity"], routerOnly: true, type: "int", valueName: "N", env: "LLAMA_ARG_LOG_VERBOSITY",
    group: "logging", min: 0, help: "log messages up to this level: 1 errors, 2 warnings, 3 info, 5 debug (-v logs everything)" },
  { key: "logDisable", names: ["--log-disable"], routerOnly: true, type: "bool", group: "logging", help: "write no log at all" },
  { key: "logFile", names: ["--log-file"], routerOnly: true, type: "string", valueName: "FILE", env: "LLAMA_ARG_LOG_FILE", group: "logging",
    help: "also write the log to FILE, emptied at start (debug lines included; a router's file gets its models' output too)" },
  { key: "logColors", names: ["--log-colors"], routerOnly: true, type: "string", valueName: "on|off|auto", env: "LLAMA_ARG_LOG_COLORS",
    group: "logging", check: (v) => void parseOnOffAuto(v), help: "color the level letters (auto: when stderr is a terminal)" },
  { key: "logPrefix", names: ["--log-prefix"], negNames: ["--no-log-prefix"], routerOnly: true, type: "bool", env: "LLAMA_ARG_LOG_PREFIX",
    group: "logging", help: "start text log lines with their level letter (I, W, E, D)" },
  { key: "logTimestamps", names: ["--log-timestamps"], negNames: ["--no-log-timestamps"], routerOnly: true, type: "bool",
    env: "LLAMA_ARG_LOG_TIMESTAMPS", group: "logging", help: "start text log lines with the time since start (minutes.seconds.ms.us)" },
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
  { key: "modelsMemory", names: ["--models-memory"], type: "string", valueName: "SIZE|PERCENT", env: "LLAMA_ARG_MODELS_MEMORY", group: "router",
    routerOnly: true, check: (v) => void parseBudget(v),
    help: "router: RAM the models may take together (e.g. 12g or 75%), by their estimates; idle models are unloaded to fit a load (default: available RAM at start minus a reserve)" },
  { key: "modelsVram", names: ["--models-vram"], type: "string", valueName: "SIZE|PERCENT", env: "LLAMA_ARG_MODELS_VRAM", group: "router",
    routerOnly: true, check: (v) => void parseBudget(v),
    help: "router: GPU memory the models may take together on each GPU (default: free VRAM where a GPU is used)" },
  { key: "modelsHealthTimeout", names: ["--models-health-timeout"], type: "int", valueName: "SECONDS", env: "LLAMA_ARG_MODELS_HEALTH_TIMEOUT",
    group: "router", routerOnly: true, min: 1,
    help: "router: a loaded model process that does not answer its health check for this long is killed (wedged)" },
  { key: "modelsSpare", names: ["--models-spare"], negNames: ["--no-models-spare"], type: "bool", env: "LLAMA_ARG_MODELS_SPARE", group: "router",
    routerOnly: true, help: "router: keep one warm model process (runtime and backend loaded, no model) so a load costs only the model's own load time" },
  { key: "engine", names: ["--engine"], type: "string", valueName: "auto|node|llama-server", env: "CORRAL_ENGINE", group: "router", routerOnly: true,
    choices: ["auto", "node", "llama-server"],
    help: "router: what runs each model (per model: preset key engine): llama.cpp's llama-server, corral's built-in node engine, or auto = llama-server when a binary is found, else node" },
  { key: "llamaServer", names: ["--llama-server"], type: "string", valueName: "PATH", group: "router", routerOnly: true,
    help: "router: the llama-server binary (per model: preset key llama-server; default: $LLAMA_SERVER_BIN, the one `corral engine build` made, or llama-server on PATH)" },
  { key: "cluster", names: ["--cluster"], type: "list", valueName: "URL[,URL...]", env: "CORRAL_CLUSTER", group: "router", routerOnly: true,
    help: "router: join the cluster whose shared state is on these NATS servers (nats://[USER:PASS@|TOKEN@]HOST:PORT, JetStream on): requests for a model another node serves go there over HTTP" },
  { key: "nodeName", names: ["--node-name"], type: "string", valueName: "NAME", env: "CORRAL_NODE_NAME", group: "router", routerOnly: true,
    help: "router: this node's name in the cluster; a node started again under the same name replaces its old entry (default: HOSTNAME:PORT)" },
  { key: "advertise", names: ["--advertise"], type: "string", valueName: "URL", env: "CORRAL_ADVERTISE", group: "router", routerOnly: true,
    help: "router: the URL the other nodes of the cluster reach this one at (default: http://HOST:PORT; needed when --host is 0.0.0.0 or ::)" },
  { key: "clusterKey", names: ["--cluster-key"], type: "string", valueName: "KEY", env: "CORRAL_CLUSTER_KEY", group: "router", routerOnly: true,
    help: "router: the secret shared by the nodes of the cluster, carried by the requests one node forwards to another" },
  { key: "clusterKeyFile", names: ["--cluster-key-file"], type: "string", valueName: "FILE", env: "CORRAL_CLUSTER_KEY_FILE", group: "router",
    routerOnly: true, help: "router: file holding the cluster's shared secret (its first line)" },
  { key: "clusterTtl", names: ["--cluster-ttl"], type: "int", valueName: "SECONDS", env: "CORRAL_CLUSTER_TTL", group: "router", routerOnly: true,
    min: 1, max: 3600, help: "router: a node that has not sent a heartbeat for this long counts as down (it sends one every third of it)" },
];

/**
 * llama-server flags corral accepts but does not implement yet: each gives a one-line warning instead of an error,
 * so existing llama-server command lines keep working. The number is how many values the flag takes.
 */
export const ACCEPTED_UNIMPLEMENTED: Readonly<Record<string, number>> = {
  "-tb": 1, "--threads-batch": 1, "-C": 1, "--cpu-mask": 1, "-Cr": 1, "--cpu-range": 1, "--cpu-strict": 1, "--prio": 1,
  "--poll": 1, "--rope-scaling": 1, "--rope-scale": 1,
  "--rope-freq-base": 1, "--rope-freq-scale": 1, "--yarn-orig-ctx": 1, "-dev": 1, "--device": 1,
  "-sm": 1, "--split-mode": 1, "-ts": 1, "--tensor-split": 1, "-mg": 1, "--main-gpu": 1,
  "--control-vector": 1,
  "--mmproj": 1, "--mmproj-url": 1,
  "-hft": 1, "--hf-token": 1, "-mu": 1, "--model-url": 1,
  "--threads-http": 1,
  "--samplers": 1, "--sampling-seq": 1, "--typical": 1,
  "--mirostat": 1,
  "--mirostat-lr": 1, "--mirostat-ent": 1,
  "--dynatemp-range": 1, "--dynatemp-exp": 1, "--top-nsigma": 1, "--media-path": 1,
  "-cram": 1, "--cache-ram": 1, "--n-cpu-moe": 1, "-ot": 1, "--override-tensor": 1, "--numa": 1,
  "-cb": 0, "--cont-batching": 0, "-nocb": 0, "--no-cont-batching": 0, "-nkvo": 0, "--no-kv-offload": 0,
  "--no-warmup": 0,
  "--no-perf": 0, "--cpu-moe": 0,
  "-bs": 0, "--backend-sampling": 0, "--backend_sampling": 0, "--no-op-offload": 0,
  "--no-prefill-assistant": 0,
};
