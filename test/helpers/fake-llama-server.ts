// Fake llama-server binaries, builds and bundles, so that discovery and `corral engine` are tested without a compile.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

export const FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567";

export function tempDir(prefix = "corral-engine-"): string {
  return tempDirUntilExit(prefix);
}

export function writeScript(file: string, body: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A llama-server that answers --version like the real one: chatter, then the version, all on stderr. */
export function fakeServer(file: string, version: string): string {
  return writeScript(file, `echo "load_backend: loaded CPU backend" >&2\necho "version: ${version}" >&2\necho "built with fake" >&2`);
}

/** A bundle whose text header names `commit` as HEAD (the pack after it is never read). */
export function fakeBundle(dir: string, commit = FAKE_COMMIT): string {
  const file = path.join(dir, "fake.bundle");
  writeFileSync(file, `# v2 git bundle\n${commit} HEAD\n${commit} refs/heads/master\n\nPACK-not-really`);
  return file;
}

/** A finished build in `<xdg>/corral/llama-server/<commit12>-<backend>/`, with its stamp. */
export function fakeBuild(xdg: string, backend: string, opts: { commit?: string; builtAt?: string; stamp?: boolean; binary?: boolean } = {}): string {
  const commit = opts.commit ?? FAKE_COMMIT;
  const dir = path.join(xdg, "corral", "llama-server", `${commit.slice(0, 12)}-${backend}`);
  const binary = path.join(dir, "build", "bin", "llama-server");
  mkdirSync(path.join(dir, "src"), { recursive: true });
  if (opts.binary !== false) fakeServer(binary, `4242 (${commit.slice(0, 8)}) ${backend}`);
  if (opts.stamp !== false) {
    const stamp = { commit, backend, binary, cmakeArgs: [], builtAt: opts.builtAt ?? "2026-09-01T00:00:00.000Z" };
    writeFileSync(path.join(dir, "build.json"), JSON.stringify(stamp));
  }
  return binary;
}
