// Private temporary folders that go away with the process: created with mkdtemp and removed when it exits, whether
// it ends normally, with an error (process.exit from a failed start) or from a handled signal. Only SIGKILL, which
// runs nothing, leaves one behind.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const owned = new Set<string>();

function removeAll(): void {
  for (const dir of owned) rmSync(dir, { recursive: true, force: true });
  owned.clear();
}

/** A new folder `<tmpdir>/<prefix>XXXXXX`, removed (with what it holds) when this process exits. */
export function tempDirUntilExit(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  if (owned.size === 0) process.once("exit", removeAll);
  owned.add(dir);
  return dir;
}
