// Test models: random-weight llama GGUFs generated on demand and cached in the
// OS temp folder, plus the optional third-party model shared by CI.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, stat, unlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
    RANDOM_LLAMA_GENERATOR_VERSION,
    estimateRandomLlamaModel,
    resolveRandomLlamaOptions,
    writeRandomLlamaModel,
    type RandomLlamaOptions
} from "../../src/gguf/random-llama.js";

export type TestModelKind = "tiny" | "small" | "bench";

export const TEST_MODEL_PRESETS: Record<TestModelKind, RandomLlamaOptions> = {
    // ~0.8 MB
    tiny: { dim: 64, layers: 2, vocabSize: 2048, fileType: "f16" },
    // ~15 MB
    small: { dim: 256, layers: 4, vocabSize: 8192, fileType: "f16" },
    // ~200 MB, LLaMA-2-like vocabulary size; takes a couple of seconds to write
    bench: { dim: 768, layers: 8, vocabSize: 32000, fileType: "f16" }
};

/**
 * Test-model options for models served by llama-server: its output parser answers 500 when random text ends inside
 * a UTF-8 sequence, which the non-ASCII byte tokens (ids 133..260) produce now and then; muted, they are never
 * sampled, whatever the request (a logit_bias cannot be sent through every dialect).
 */
export const QUIET_BYTES: RandomLlamaOptions = { mutedTokens: [133, 261] };

export const TEST_MODEL_CACHE_DIR = path.join(os.tmpdir(), "corral-test-models");

const inFlight = new Map<string, Promise<string>>();

/**
 * Absolute path of a generated model, writing it on first use. The file name
 * hashes the resolved options and the generator version, so different options
 * (or an updated generator) never reuse a stale file.
 */
export function getTestModel(kind: TestModelKind, overrides: RandomLlamaOptions = {}): Promise<string> {
    const preset = TEST_MODEL_PRESETS[kind];
    if (preset === undefined)
        throw new Error(`unknown test model kind ${JSON.stringify(kind)}`);
    const options = resolveRandomLlamaOptions({ ...preset, ...overrides });
    const hash = createHash("sha256")
        .update(JSON.stringify({ generator: RANDOM_LLAMA_GENERATOR_VERSION, options }))
        .digest("hex")
        .slice(0, 16);
    const file = path.join(TEST_MODEL_CACHE_DIR, `${kind}-${hash}.gguf`);

    // Two tests in one process asking at once share one write.
    let pending = inFlight.get(file);
    if (pending === undefined) {
        pending = ensureModel(file, options).finally(() => inFlight.delete(file));
        inFlight.set(file, pending);
    }
    return pending;
}

async function ensureModel(file: string, options: RandomLlamaOptions): Promise<string> {
    const expectedSize = estimateRandomLlamaModel(options).fileSize;
    const existing = await stat(file).catch(() => undefined);
    // The size check catches files left truncated by a crash or a full disk.
    if (existing?.isFile() && existing.size === expectedSize)
        return file;

    await mkdir(TEST_MODEL_CACHE_DIR, { recursive: true });
    // Other test processes may be generating the same file: each writes its own
    // temporary file and the atomic rename means readers see all or nothing.
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
        await writeRandomLlamaModel(tmp, options);
        await rename(tmp, file);
    } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw err;
    }
    return file;
}

/**
 * `../shared/models/llama-2-tiny-random.gguf` next to the repository (a real
 * third-party GGUF that CI and developers have; see its README), or undefined
 * when absent, in which case tests using it should skip.
 */
export function sharedThirdPartyModel(): string | undefined {
    // This file runs as dist/test/helpers/models.js, three levels below the repo root.
    const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
    const model = path.resolve(repoRoot, "..", "shared", "models", "llama-2-tiny-random.gguf");
    return existsSync(model) ? model : undefined;
}
