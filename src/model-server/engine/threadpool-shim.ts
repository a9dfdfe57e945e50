// Loads native/build/libcorral-threadpool.so (see native/threadpool-shim.c for the why) into this process before
// llama.cpp's CPU backend is loaded. Loading it with RTLD_GLOBAL puts its ggml_graph_compute() ahead of the
// backend's own in symbol lookup, exactly as LD_PRELOAD would, without re-executing the process.
import { existsSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

export type ShimState = "loaded" | "preloaded" | "absent" | "disabled" | "unsupported" | `failed: ${string}`;

export const SHIM_PATH = fileURLToPath(new URL("../../../../native/build/libcorral-threadpool.so", import.meta.url));

let state: ShimState | undefined;

export function loadThreadpoolShim(): ShimState {
  if (state) return state;
  state = load();
  return state;
}

function load(): ShimState {
  if (process.platform !== "linux") return "unsupported";
  if (process.env["CORRAL_THREADPOOL"] === "0") return "disabled";
  if ((process.env["LD_PRELOAD"] ?? "").includes("libcorral-threadpool")) return "preloaded";
  if (!existsSync(SHIM_PATH)) return "absent";
  try {
    // It is not a Node addon: process.dlopen is used only for dlopen(RTLD_NOW | RTLD_GLOBAL); the library stays
    // mapped for the life of the process.
    process.dlopen({ exports: {} }, SHIM_PATH, os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL);
    return "loaded";
  } catch (err) {
    const msg = (err as Error).message;
    // Node reports a plain shared library as an addon that did not register itself; it is loaded all the same.
    if (/self-register|did not self-register/i.test(msg)) return "loaded";
    return `failed: ${msg}`;
  }
}
