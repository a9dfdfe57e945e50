// Ollama's native API as a dialect of OpenAI's: /api/chat and /api/generate become chat completions (or, for a raw
// prompt, completions), /api/embed and /api/embeddings embeddings; answers stream as NDJSON; every error is
// `{"error": "…"}`. The listings (/api/version, /api/tags, /api/ps, /api/show) describe models in Ollama's terms.
import type { JsonObject } from "../../http/validate.js";
import type { Dialect } from "../dialect.js";
import type { ChatCompletion } from "../openai/chat.js";
import { openAiErrorMessage } from "../openai/errors.js";
import { NDJSON, type StreamFormat, type StreamTranslator } from "../stream.js";
import { type AnswerTiming, ollamaChatAnswer, ollamaEmbedAnswer, ollamaError, ollamaGenerateAnswer, ollamaLoadAnswer } from "./answer.js";
import { OLLAMA_VERSION, ollamaCapabilities, ollamaDigest, ollamaPsEntry, ollamaShow, ollamaTag } from "./models.js";
import { ollamaChatRequest, ollamaEmbedRequest, ollamaGenerateRequest, type OllamaEmbedTranslated, type OllamaTranslated } from "./request.js";
import { OllamaStreamTranslator } from "./stream.js";

export type { AnswerTiming } from "./answer.js";
export type { KeepAlive, OllamaEmbedTranslated, OllamaTranslated } from "./request.js";

/** /api/chat or /api/generate. */
export type OllamaKind = "chat" | "generate";

export interface OllamaDialect extends Dialect {
  readonly name: "ollama";
  /** What /api/version reports. */
  readonly version: string;
  parseRequest(kind: OllamaKind, body: unknown): OllamaTranslated;
  parseEmbedRequest(body: unknown, legacy: boolean): OllamaEmbedTranslated;
  /** A whole answer: a chat completion, or (a raw /api/generate) a text completion. */
  answerFrom(kind: OllamaKind, c: ChatCompletion, timing: AnswerTiming): JsonObject;
  embedAnswer: typeof ollamaEmbedAnswer;
  /** The answer to a request that only loads (or, with keep_alive 0, unloads) the model. */
  loadAnswer: typeof ollamaLoadAnswer;
  /** A streamed answer; it takes text-completion chunks (and llama.cpp's native ones) as well as chat chunks. */
  stream(o: { kind: OllamaKind; model: string }): StreamTranslator;
  readonly streamFormat: StreamFormat;
  /** The listings' descriptions of a model. */
  tag: typeof ollamaTag;
  psEntry: typeof ollamaPsEntry;
  show: typeof ollamaShow;
  capabilities: typeof ollamaCapabilities;
  digest: typeof ollamaDigest;
}

const line = (data: JsonObject) => ({ data });

export const ollama: OllamaDialect = {
  name: "ollama",
  version: OLLAMA_VERSION,
  errorBody: (e) => ollamaError(e.message),
  upstreamErrorBody: (status, body) => ollamaError(openAiErrorMessage(status, body)),
  parseRequest: (kind, body) => (kind === "chat" ? ollamaChatRequest(body) : ollamaGenerateRequest(body)),
  parseEmbedRequest: ollamaEmbedRequest,
  answerFrom: (kind, c, timing) => (kind === "chat" ? ollamaChatAnswer(c, timing) : ollamaGenerateAnswer(c, timing)),
  embedAnswer: ollamaEmbedAnswer,
  loadAnswer: ollamaLoadAnswer,
  stream(o) {
    const t = new OllamaStreamTranslator(o);
    return {
      push: (chunk) => t.push(chunk).map(line),
      finish: (timing) => t.finish(timing).map(line),
      error: (e) => line(ollamaError(e.message)),
    };
  },
  streamFormat: NDJSON,
  tag: ollamaTag,
  psEntry: ollamaPsEntry,
  show: ollamaShow,
  capabilities: ollamaCapabilities,
  digest: ollamaDigest,
};
