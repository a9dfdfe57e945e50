// The RAM a model process really holds, for GET /models next to its estimate. The rule: anonymous pages (heap, KV
// cache, compute buffers) + shared memory + the resident pages of mapped *.gguf files (llama.cpp mmaps the weights:
// they are file pages, but they are the model's memory and leave with it); other file-backed pages (shared
// libraries, the node or llama-server binary) are not counted: they are shared with every other model process and
// are reclaimable page cache. This is "RSS minus shared file pages", with the weights put back in.
//
// Cost: /proc/<pid>/smaps (and smaps_rollup) would split file pages by mapping, but they walk the page tables:
// ~8 ms for a 400 MB node model process, ~20 ms per GB resident, on the router's event loop. Instead:
// /proc/<pid>/status has RssAnon, RssFile and RssShmem as counters (~50 µs), and /proc/<pid>/maps (no page walk,
// ~0.2 ms for a node process's 270 mappings) gives the GGUF mappings' sizes. llama.cpp maps the weights with
// MAP_POPULATE, so they are resident unless the kernel evicted some: the weights are min(GGUF mapped, RssFile), exact
// while they are all resident (RssFile is then the weights plus the libraries), and at worst the libraries too
// (tens of MB) once part of them is evicted.
import { readFileSync } from "node:fs";

export interface MeasuredMemory {
  /** Bytes, by the rule above. */
  ram: number;
}

/** A measurement this fresh is answered again (GET /models may be polled in a loop). */
const CACHE_MS = 1000;
/** The GGUF mappings are set at load; maps is read again this seldom. */
const MAPS_REFRESH_MS = 30_000;

interface PerPid {
  ggufMapped: number;
  mapsAt: number;
  measured?: MeasuredMemory;
  measuredAt: number;
}

const perPid = new Map<number, PerPid>();

/** The process's memory by the rule above, or undefined when it is gone (or /proc cannot be read: not Linux). */
export function measureMemory(pid: number, now = Date.now()): MeasuredMemory | undefined {
  let entry = perPid.get(pid);
  if (entry?.measured && now - entry.measuredAt >= 0 && now - entry.measuredAt < CACHE_MS) return entry.measured;
  const status = readProc(pid, "status");
  const counters = status !== undefined ? statusCounters(status) : undefined;
  if (!counters) {
    perPid.delete(pid);
    return undefined;
  }
  if (!entry || now - entry.mapsAt >= MAPS_REFRESH_MS || now < entry.mapsAt) {
    const maps = readProc(pid, "maps");
    if (maps === undefined) {
      perPid.delete(pid);
      return undefined;
    }
    entry = { ggufMapped: ggufMappedBytes(maps), mapsAt: now, measuredAt: 0 };
    perPid.set(pid, entry);
    forgetDeadPids();
  }
  const weights = Math.min(entry.ggufMapped, counters.file);
  entry.measured = { ram: counters.anon + counters.shmem + weights };
  entry.measuredAt = now;
  return entry.measured;
}

/** RssAnon, RssFile, RssShmem of /proc/<pid>/status, in bytes (undefined for a zombie, which has none). */
export function statusCounters(text: string): { anon: number; file: number; shmem: number } | undefined {
  const kb = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const anon = kb("RssAnon");
  const file = kb("RssFile");
  const shmem = kb("RssShmem");
  if (anon === undefined || file === undefined || shmem === undefined) return undefined;
  return { anon, file, shmem };
}

/** Bytes of /proc/<pid>/maps lines that map a *.gguf file (also one replaced on disk since: "(deleted)"). */
export function ggufMappedBytes(maps: string): number {
  let total = 0;
  for (const line of maps.split("\n")) {
    if (!/\.gguf( \(deleted\))?$/i.test(line)) continue;
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s/.exec(line);
    if (m) total += parseInt(m[2]!, 16) - parseInt(m[1]!, 16);
  }
  return total;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "latin1");
  } catch {
    return undefined;
  }
}

/** Entries of processes that exited without being measured again would otherwise stay for ever. */
function forgetDeadPids(): void {
  if (perPid.size < 64) return;
  for (const pid of [...perPid.keys()]) if (readProc(pid, "stat") === undefined) perPid.delete(pid);
}
