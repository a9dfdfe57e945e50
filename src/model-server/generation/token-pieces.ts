// Each token's piece as bytes, read from the vocabulary in the model's GGUF metadata (SentencePiece's U+2581 for a
// space and <0xXX> byte tokens, GPT-2's byte-level alphabet), because node-llama-cpp's detokenize returns a string:
// a token that ends inside a multi-byte character loses its bytes there, and token probabilities and tokenize's
// pieces report each token's bytes. Other vocabularies fall back to detokenize.
import type { LlamaModel, Token } from "node-llama-cpp";

export interface TokenPieces {
  bytes(token: Token): Uint8Array;
  text(token: Token): string;
}

interface Vocab {
  kind: string;
  tokens: readonly string[];
  types: readonly number[] | undefined;
}

/** tokenizer.ggml.token_type values. */
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const USER_DEFINED = 4;
const BYTE = 6;
const SPM_SPACE = "\u2581";
const UNKNOWN_PIECE = Buffer.from("\u2585", "utf8");
const EMPTY = new Uint8Array(0);

const byModel = new WeakMap<LlamaModel, TokenPieces>();

/** The pieces of this model's tokens, made once per model. */
export function piecesOf(model: LlamaModel): TokenPieces {
  let p = byModel.get(model);
  if (!p) byModel.set(model, (p = tokenPieces(model)));
  return p;
}

export function tokenPieces(model: LlamaModel): TokenPieces {
  const vocab = readVocab(model);
  const cache = new Map<Token, Uint8Array>();
  const bytes = (token: Token): Uint8Array => {
    let b = cache.get(token);
    if (!b) {
      b = vocab ? pieceBytes(vocab, token) : Buffer.from(model.detokenize([token], false), "utf8");
      cache.set(token, b);
    }
    return b;
  };
  return { bytes, text: (token) => validUtf8Prefix(bytes(token)) };
}

function readVocab(model: LlamaModel): Vocab | undefined {
  const ggml = (model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: Record<string, unknown> } }).tokenizer?.ggml;
  const tokens = ggml?.["tokens"];
  const kind = ggml?.["model"];
  if (!Array.isArray(tokens) || typeof kind !== "string") return undefined;
  const types = ggml?.["token_type"];
  return { kind, tokens: tokens as string[], types: Array.isArray(types) ? (types as number[]) : undefined };
}

function pieceBytes(v: Vocab, token: Token): Uint8Array {
  const raw = v.tokens[token];
  if (raw === undefined) return EMPTY;
  const type = v.types?.[token] ?? NORMAL;
  if (type === CONTROL) return EMPTY;
  if (type === USER_DEFINED) return Buffer.from(raw, "utf8");
  if (v.kind === "llama" || v.kind === "t5") {
    if (type === BYTE) {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(raw);
      return m ? Uint8Array.of(parseInt(m[1]!, 16)) : EMPTY;
    }
    if (type === UNKNOWN) return UNKNOWN_PIECE;
    return Buffer.from(raw.replaceAll(SPM_SPACE, " "), "utf8");
  }
  if (v.kind === "gpt2") return byteLevelDecode(raw);
  return Buffer.from(raw, "utf8");
}

// GPT-2's byte-level BPE writes every byte as a printable character: the printable Latin-1 bytes stand for
// themselves and the others are shifted to U+0100 and up, in order.
let byteLevel: Map<number, number> | undefined;
function byteLevelDecode(s: string): Uint8Array {
  if (!byteLevel) {
    byteLevel = new Map();
    let shifted = 0;
    for (let b = 0; b < 256; b++) {
      const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
      byteLevel.set(printable ? b : 256 + shifted++, b);
    }
  }
  const out: number[] = [];
  for (const ch of s) {
    const b = byteLevel.get(ch.codePointAt(0)!);
    if (b !== undefined) out.push(b);
    else out.push(...Buffer.from(ch, "utf8")); // not byte-level text (an added token): keep it as it is
  }
  return Uint8Array.from(out);
}

/** The longest prefix of `bytes` that does not end inside a UTF-8 character, decoded. */
export function validUtf8Prefix(bytes: Uint8Array): string {
  let end = bytes.length;
  // look back at most 3 bytes for the lead byte of a character that is cut off
  for (let i = 1; i <= Math.min(3, bytes.length); i++) {
    const b = bytes[bytes.length - i]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (need > i) end = bytes.length - i;
    break;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString("utf8");
}
