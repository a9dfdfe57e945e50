// The tool fields of a chat request: tools, tool_choice and parallel_tool_calls, checked and read.
import { ApiError } from "../../http/errors.js";
import { type Json, type JsonObject, optArray, optBool, typeName } from "../../http/validate.js";
import type { ToolSpec } from "./types.js";

/** "auto": the model may call; "required": it must; `{name}`: it must call that function. */
export type ToolChoice = "auto" | "required" | { name: string };

export interface ToolRequest {
  /** The tools as the request gave them, for the template; undefined when there are none or tool_choice is "none". */
  tools: Json[] | undefined;
  specs: ToolSpec[];
  choice: ToolChoice;
  parallel: boolean;
}

export function readToolRequest(body: JsonObject): ToolRequest {
  const raw = optArray(body, "tools");
  const specs = (raw ?? []).map(readTool);
  const parallel = optBool(body, "parallel_tool_calls") ?? true;
  const choice = readChoice(body["tool_choice"], specs);
  if (choice === "none" || specs.length === 0) return { tools: undefined, specs: [], choice: "auto", parallel };
  return { tools: raw, specs, choice, parallel };
}

function readTool(t: Json, i: number): ToolSpec {
  const where = `tools[${i}]`;
  if (t === null || typeof t !== "object" || Array.isArray(t)) throw new ApiError(400, `'${where}' must be an object, got ${typeName(t)}`);
  if (t["type"] !== "function") throw new ApiError(400, `'${where}.type' must be "function", got ${JSON.stringify(t["type"] ?? null)}`);
  const fn = t["function"];
  if (fn === null || typeof fn !== "object" || Array.isArray(fn)) throw new ApiError(400, `'${where}.function' must be an object`);
  const name = fn["name"];
  if (typeof name !== "string" || name === "") throw new ApiError(400, `'${where}.function.name' must be a non-empty string`);
  const params = fn["parameters"];
  if (params !== undefined && params !== null && (typeof params !== "object" || Array.isArray(params))) {
    throw new ApiError(400, `'${where}.function.parameters' must be a JSON schema object`);
  }
  return { name, parameters: (params ?? {}) as Record<string, unknown> };
}

function readChoice(v: Json | undefined, specs: readonly ToolSpec[]): ToolChoice | "none" {
  if (v === undefined || v === null || v === "auto") return "auto";
  if (v === "none" || v === "required") return v;
  if (typeof v === "string") throw new ApiError(400, `'tool_choice' must be "none", "auto", "required" or a function, got "${v}"`);
  if (typeof v !== "object" || Array.isArray(v) || v["type"] !== "function") {
    throw new ApiError(400, `'tool_choice' must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}`);
  }
  const fn = v["function"];
  const name = fn !== null && typeof fn === "object" && !Array.isArray(fn) ? fn["name"] : undefined;
  if (typeof name !== "string") throw new ApiError(400, "'tool_choice.function.name' must be a string");
  if (specs.length > 0 && !specs.some((s) => s.name === name)) throw new ApiError(400, `'tool_choice' names function '${name}', which is not in 'tools'`);
  return { name };
}

/** The tools a forced call may use: all of them, or the one tool_choice names. */
export function forcedTools(r: ToolRequest): ToolSpec[] | undefined {
  if (r.choice === "auto") return undefined;
  if (r.choice === "required") return r.specs;
  const name = r.choice.name;
  return r.specs.filter((s) => s.name === name);
}
