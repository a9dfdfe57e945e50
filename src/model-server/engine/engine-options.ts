// The llama-server flags that change how the model and its context are created, as node-llama-cpp options:
// --check-tensors and --override-kv (model), -ctk/-ctv, --swa-full, --lora and --lora-scaled (context).
import path from "node:path";
import type { GgmlType, LlamaContextOptions, LlamaModelOptions } from "node-llama-cpp";
import type { ModelOptions } from "../../options/options.js";
import { type KvOverrideValue, parseKvOverride, parseLoraScaled } from "../../options/value-formats.js";

type Overrides = NonNullable<LlamaModelOptions["metadataOverrides"]>;

/** Options for llama.loadModel() beyond the basics engine.ts sets. */
export function modelLoadOptions(opts: ModelOptions): Pick<LlamaModelOptions, "checkTensors" | "metadataOverrides"> {
  return {
    ...(opts.checkTensors ? { checkTensors: true } : {}),
    ...(opts.overrideKv && opts.overrideKv.length > 0 ? { metadataOverrides: metadataOverrides(opts.overrideKv) } : {}),
  };
}

/**
 * --override-kv items as node-llama-cpp's nested metadata object. node-llama-cpp decides each value's GGUF type
 * from its JavaScript type: a bigint is an int, a number with a fraction a float, but a whole number would become
 * an int too. llama.cpp refuses an override whose type differs from the key's, so a whole float is sent one ulp
 * above itself: llama.cpp stores float overrides as f64 and reads them as f32, where that ulp is gone.
 */
export function metadataOverrides(items: readonly string[]): Overrides {
  const root: Record<string, unknown> = {};
  for (const item of items) {
    const o = parseKvOverride(item);
    const parts = o.key.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      node = (next !== null && typeof next === "object" ? next : (node[part] = {})) as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = jsValue(o);
  }
  return root as Overrides;
}

function jsValue(o: KvOverrideValue): bigint | number | boolean | string {
  if (o.type === "float" && Number.isInteger(o.value)) return nextUp(o.value);
  return o.value;
}

function nextUp(x: number): number {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigInt64(0);
  // away from zero for positive values, toward it for negative ones: either way the next double above x
  buf.setBigInt64(0, x >= 0 ? bits + 1n : bits - 1n);
  return x === 0 ? Number.MIN_VALUE : buf.getFloat64(0);
}

/** llama.cpp's cache type names as node-llama-cpp's GgmlType keys. */
const GGML_TYPE: Record<string, keyof typeof GgmlType> = {
  f32: "F32", f16: "F16", bf16: "BF16", q8_0: "Q8_0", q4_0: "Q4_0", q4_1: "Q4_1", iq4_nl: "IQ4_NL", q5_0: "Q5_0", q5_1: "Q5_1",
};

/** Options for model.createContext() beyond the basics engine.ts sets. */
export function contextOptions(opts: ModelOptions): Pick<LlamaContextOptions, "experimentalKvCacheKeyType" | "experimentalKvCacheValueType" | "swaFullCache" | "lora"> {
  const adapters = loraAdapters(opts);
  return {
    ...(opts.cacheTypeK ? { experimentalKvCacheKeyType: GGML_TYPE[opts.cacheTypeK] } : {}),
    ...(opts.cacheTypeV ? { experimentalKvCacheValueType: GGML_TYPE[opts.cacheTypeV] } : {}),
    ...(opts.swaFull ? { swaFullCache: true } : {}),
    ...(adapters.length > 0 ? { lora: { adapters } } : {}),
  };
}

/** --lora (scale 1) and --lora-scaled adapters, in the order given. */
export function loraAdapters(opts: ModelOptions): Array<{ filePath: string; scale: number }> {
  return [
    ...(opts.lora ?? []).map((f) => ({ filePath: path.resolve(f), scale: 1 })),
    ...(opts.loraScaled ?? []).map((item) => {
      const { file, scale } = parseLoraScaled(item);
      return { filePath: path.resolve(file), scale };
    }),
  ];
}
