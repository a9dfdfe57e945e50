// Which engine serves a model: `cmd` and `proxy` in its preset decide for themselves; otherwise its `engine`
// (preset key, else --engine): node, llama-server, or auto = llama-server when a binary is found, else node.
import type { ModelSpec } from "../catalog/catalog.js";
import { StartupError } from "../util/startup-error.js";
import { findLlamaServer, type FoundBinary } from "./llama-server/find.js";
import type { EngineName } from "./types.js";

export interface EngineChoiceResult {
  engine: EngineName;
  /** The llama-server binary, for that engine. */
  binary?: string;
}

export const HOW_TO_GET_LLAMA_SERVER =
  "build one with `corral engine build` (compiles the llama.cpp source node-llama-cpp ships; no network needed), " +
  "or point LLAMA_SERVER_BIN or --llama-server at one, or put llama-server on PATH";

/** Finds binaries once per distinct explicit path: a catalog of 1000 models costs a handful of stats. */
export class EngineSelector {
  private readonly found = new Map<string, FoundBinary | undefined>();

  constructor(private readonly routerBinary: string | undefined, private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Throws a StartupError when llama-server is asked for explicitly and there is none. */
  choose(spec: ModelSpec): EngineChoiceResult {
    if (spec.cmd) return { engine: "cmd" };
    if (spec.proxy) return { engine: "remote" };
    if (spec.engine === "node") return { engine: "node" };
    const bin = this.binary(spec.llamaServer);
    if (bin) return { engine: "llama-server", binary: bin.path };
    if (spec.engine === "llama-server") {
      throw new StartupError(`model '${spec.id}' asks for engine llama-server, but no llama-server binary was found: ${HOW_TO_GET_LLAMA_SERVER}`);
    }
    return { engine: "node" };
  }

  private binary(explicit: string | undefined): FoundBinary | undefined {
    const key = explicit ?? this.routerBinary ?? "";
    if (!this.found.has(key)) {
      this.found.set(key, findLlamaServer({
        ...(explicit ? { explicit, explicitFrom: "the preset key llama-server" } : this.routerBinary ? { explicit: this.routerBinary } : {}),
        env: this.env,
      }));
    }
    return this.found.get(key);
  }
}
