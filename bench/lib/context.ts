// What every scenario gets: the mode, the models and a place to record results (model folders: temp-dirs.ts).
import type { ImplName } from "./servers.js";

/** A goal the table can judge: `value op bound`, or `value op bound x (llama.cpp's value)` when relative. */
export interface Target {
  op: "<=" | ">=";
  bound: number;
  relativeTo?: "llama.cpp";
}

export interface Result {
  scenario: string;
  metric: string;
  impl: ImplName;
  value: number;
  unit: string;
  /** The goal for this metric, judged in the table against corral+ls (corral when llama-server is absent). */
  target?: Target;
  /** A goal the table shows but does not judge. */
  goal?: string;
}

export interface BenchContext {
  quick: boolean;
  runs: number;
  /** ~0.8 MB generated model. */
  tiny: string;
  /** ~200 MB generated model (dim 768, 8 layers, F16); the tiny one in --quick. */
  big: string;
  /** A second model of the same size, for swaps. */
  big2: string;
  record(r: Result): void;
}
