// The memory the router's models may take together: --models-memory (RAM) and --models-vram (per GPU), as bytes.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseBudget } from "../../options/value-formats.js";

const GiB = 1024 ** 3;

/**
 * What is kept back from the default RAM budget: the router itself, page cache for the files being read, and the
 * rest of the system. max(1 GiB, 10% of MemTotal): 1 GiB is enough on a small machine (the router takes ~60 MB),
 * and 10% leaves a large one the headroom the kernel wants before it starts reclaiming hard.
 */
export function ramReserve(memTotal: number): number {
  return Math.max(GiB, Math.floor(memTotal * 0.1));
}

/** MemTotal and MemAvailable of /proc/meminfo, in bytes (undefined where there is none: not Linux). */
export function readMeminfo(text?: string): { total: number; available: number } | undefined {
  let t = text;
  if (t === undefined) {
    try {
      t = readFileSync("/proc/meminfo", "latin1");
    } catch {
      return undefined;
    }
  }
  const kb = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(t!);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kb("MemTotal");
  const available = kb("MemAvailable");
  return total !== undefined && available !== undefined ? { total, available } : undefined;
}

/** Total and free memory of each NVIDIA GPU, from nvidia-smi (undefined when there is none, or it does not answer). */
export function nvidiaGpus(run: () => string = queryNvidiaSmi): Array<{ total: number; free: number }> | undefined {
  let out: string;
  try {
    out = run();
  } catch {
    return undefined;
  }
  const gpus: Array<{ total: number; free: number }> = [];
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(line);
    if (m) gpus.push({ total: Number(m[1]) * 1024 * 1024, free: Number(m[2]) * 1024 * 1024 });
  }
  return gpus.length > 0 ? gpus : undefined;
}

function queryNvidiaSmi(): string {
  // a wedged driver can make nvidia-smi hang: the router's start-up must not
  return execFileSync("nvidia-smi", ["--query-gpu=memory.total,memory.free", "--format=csv,noheader,nounits"], {
    encoding: "utf8", timeout: 3000, stdio: ["ignore", "pipe", "ignore"],
  });
}

export interface BudgetSources {
  meminfo?: () => { total: number; available: number } | undefined;
  gpus?: () => Array<{ total: number; free: number }> | undefined;
}

/**
 * The budget in bytes, or undefined for none (no limit). `given` is the flag's value: a size ("12g") or a percentage
 * of the total ("75%": of MemTotal for RAM, of the smallest GPU's memory for VRAM). Without it, RAM defaults to
 * MemAvailable now less ramReserve(MemTotal), and VRAM to the smallest free memory of the GPUs nvidia-smi lists,
 * or no VRAM budget where it lists none (no GPU known). Throws for a value parseBudget refuses.
 */
export function resolveBudget(kind: "ram" | "vram", given: string | undefined, sources: BudgetSources = {}): number | undefined {
  const b = given !== undefined && given.trim() !== "" ? parseBudget(given) : undefined;
  if (b && "bytes" in b) return b.bytes;
  if (kind === "ram") {
    const mem = (sources.meminfo ?? readMeminfo)();
    if (!mem) return undefined;
    if (b) return Math.floor((mem.total * b.percent) / 100);
    return Math.max(0, mem.available - ramReserve(mem.total));
  }
  const gpus = (sources.gpus ?? nvidiaGpus)();
  if (!gpus) return undefined;
  // per GPU: the smallest one bounds what a model may be given on any of them
  if (b) return Math.floor((Math.min(...gpus.map((g) => g.total)) * b.percent) / 100);
  return Math.min(...gpus.map((g) => g.free));
}

/** Bytes for people: "512 B", "40.0 MiB", "3.2 GiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** A size as a preset or flag takes it back (parseBudget): "12g", "512m", "64k", or bytes. */
export function formatSize(n: number): string {
  for (const [unit, mult] of [["t", 1024 ** 4], ["g", 1024 ** 3], ["m", 1024 ** 2], ["k", 1024]] as const) {
    if (n >= mult && n % mult === 0) return `${n / mult}${unit}`;
  }
  return String(n);
}
