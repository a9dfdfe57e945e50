// POST /slots/ID?action=save|restore|erase, enabled by --slot-save-path DIR as in llama-server: save writes a
// slot's KV cache and tokens to DIR/filename, restore loads such a file back into a slot (the prompt it holds is
// then a cached prefix like any other), erase empties the slot. Each waits until the slot is idle.
import { statSync } from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../../http/errors.js";
import { type JsonObject, optString } from "../../http/validate.js";
import { StartupError } from "../../util/startup-error.js";
import type { Slot } from "../generation/slots.js";
import type { ServerState } from "../server/state.js";
import { requireReady } from "./ready.js";

export function registerSlotActionRoutes(app: FastifyInstance, state: ServerState): void {
  const dir = state.opts.slotSavePath !== undefined ? checkDir(state.opts.slotSavePath) : undefined;
  app.post("/slots/:id_slot", async (req) => {
    if (dir === undefined) throw new ApiError(501, "This server does not support slots action. Start it with `--slot-save-path`");
    const { pool } = requireReady(state);
    const raw = (req.params as { id_slot: string }).id_slot;
    const id = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(id < pool.slots.length)) throw new ApiError(400, "Invalid slot ID");
    const action = (req.query as Record<string, unknown>)["action"];
    if (action !== "save" && action !== "restore" && action !== "erase") throw new ApiError(400, "Invalid action");
    const body = (req.body ?? {}) as JsonObject;
    const filename = action === "erase" ? "" : readFilename(body);
    const slot = await pool.acquire([], undefined, id);
    try {
      return await run(action, slot, dir, filename);
    } finally {
      pool.release(slot);
    }
  });
}

async function run(action: "save" | "restore" | "erase", slot: Slot, dir: string, filename: string): Promise<Record<string, unknown>> {
  const { seq } = slot;
  const t0 = performance.now();
  const file = path.join(dir, filename);
  if (action === "save") {
    const { fileSize } = await seq.saveStateToFile(file);
    return { id_slot: slot.id, filename, n_saved: seq.nextTokenIndex, n_written: fileSize, timings: { save_ms: performance.now() - t0 } };
  }
  if (action === "restore") {
    let size: number;
    try {
      size = statSync(file).size;
      await seq.loadStateFromFile(file, { acceptRisk: true });
    } catch (err) {
      throw new ApiError(400, `Unable to restore slot: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
    }
    return { id_slot: slot.id, filename, n_restored: seq.nextTokenIndex, n_read: size, timings: { restore_ms: performance.now() - t0 } };
  }
  const erased = seq.nextTokenIndex;
  if (erased > 0) await seq.eraseContextTokenRanges([{ start: 0, end: erased }]);
  return { id_slot: slot.id, n_erased: erased };
}

/** A plain file name inside the save folder, as llama.cpp's fs_validate_filename accepts it. */
function readFilename(body: JsonObject): string {
  const name = optString(body, "filename");
  if (name === undefined) throw new ApiError(400, "'filename' is required");
  const bad = name.length === 0 || name.length > 255 || /[\u0000-\u001f\u007f\u0080-\u009f/\\:*?"<>|\uFEFF\uFFFD\u2215\u2216\uFF0E]/.test(name)
    || name.startsWith(" ") || name.endsWith(" ") || name.endsWith(".");
  if (bad) throw new ApiError(400, "Invalid filename");
  return name;
}

function checkDir(dir: string): string {
  try {
    if (statSync(dir).isDirectory()) return path.resolve(dir);
  } catch {
    // reported below
  }
  throw new StartupError(`--slot-save-path '${dir}': not a directory`);
}
