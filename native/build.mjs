#!/usr/bin/env node
// Builds native/build/libcorral-threadpool.so from native/threadpool-shim.c with the
// system C compiler (cc, gcc or clang; $CC first if set). No node-gyp, no network.
//
// Always exits 0 and prints exactly one line: the server simply runs without the shim
// when it cannot be built (no compiler, not Linux, ...).
//
//   node native/build.mjs            build if missing or older than the source
//   node native/build.mjs --force    rebuild
//   node native/build.mjs --quiet    print nothing on success

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "threadpool-shim.c");
const outDir = join(here, "build");
const out = join(outDir, "libcorral-threadpool.so");
const args = new Set(process.argv.slice(2));
const rel = (p) => relative(process.cwd(), p) || p;
const say = (msg) => { console.log(`[corral native] ${msg}`); };

function main() {
    if (process.platform !== "linux") {
        say(`skipped: threadpool shim is Linux-only (platform ${process.platform})`);
        return;
    }
    if (!existsSync(src)) {
        say(`skipped: ${rel(src)} not found`);
        return;
    }
    if (!args.has("--force") && existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) {
        if (!args.has("--quiet")) say(`up to date: ${rel(out)}`);
        return;
    }

    const compilers = [...new Set([process.env.CC, "cc", "gcc", "clang"].filter(Boolean))];
    const flags = ["-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-fvisibility=hidden"];
    const libs = ["-ldl", "-lpthread"];
    mkdirSync(outDir, { recursive: true });
    const tmp = `${out}.tmp-${process.pid}`;
    let lastError = "no C compiler found (tried " + compilers.join(", ") + ")";
    for (const cc of compilers) {
        const r = spawnSync(cc, [...flags, "-o", tmp, src, ...libs], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        if (r.error) continue; // not installed
        if (r.status === 0 && existsSync(tmp)) {
            renameSync(tmp, out);
            if (!args.has("--quiet")) say(`built ${rel(out)} with ${cc}`);
            return;
        }
        lastError = `${cc} failed: ${(r.stderr || "").trim().split("\n").slice(-3).join(" | ")}`;
    }
    rmSync(tmp, { force: true });
    say(existsSync(out)
        ? `not rebuilt: ${lastError}; keeping the existing ${rel(out)}`
        : `skipped: ${lastError}; the server will run without the threadpool shim`);
}

try {
    main();
} catch (err) {
    say(`skipped: ${err?.message ?? err}`);
}
process.exitCode = 0;
