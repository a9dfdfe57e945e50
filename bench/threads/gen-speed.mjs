#!/usr/bin/env node
// Generation / prompt-processing speed of node-llama-cpp at threads 1 and 2,
// with and without the persistent-threadpool shim (native/build/libcorral-threadpool.so),
// side by side with a native llama.cpp reference built against the same binaries.
//
//   node bench/threads/gen-speed.mjs MODEL.gguf [options]
//
// Options:
//   --threads 1,2        thread counts to test (default 1,2)
//   --gen 256            tokens generated per measured run (default 256)
//   --prompt 512         prompt-processing batch size in tokens, 0 = skip (default 512)
//   --runs 3             measured runs per child process (default 3; one extra warm-up run is discarded)
//   --rounds 2           child processes per configuration, interleaved (default 2)
//   --variants LIST      comma list of configurations (default: off,shim,ref)
//                          off          node-llama-cpp as is
//                          shim         LD_PRELOAD=native/build/libcorral-threadpool.so (defaults: for threads > 1
//                                       a persistent ggml pool, graphs run on its persistent executor thread;
//                                       threads = 1 untouched)
//                          shim-noexec  shim with CORRAL_THREADPOOL_EXECUTOR=0 (persistent pool, graphs run on
//                                       node-llama-cpp's calling libuv thread)
//                          shim-exec    shim with CORRAL_THREADPOOL_EXECUTOR=1 (executor also for threads = 1)
//                          shim-poll0   shim with CORRAL_THREADPOOL_POLL=0 (idle workers sleep at once)
//                          shim-dlopen  shim loaded by process.dlopen(RTLD_NOW|RTLD_GLOBAL) before
//                                       node-llama-cpp is imported, instead of LD_PRELOAD
//                          uv1          no shim, UV_THREADPOOL_SIZE=1
//                          ab           one process, shim loaded with process.dlopen, its mode switched at run
//                                       time between runs: reported as ab:off (pass-through), ab:pool
//                                       (persistent pool, compute on the calling thread), ab:exec (pool +
//                                       executor thread, = the default for threads > 1) - an A/B free of
//                                       process-to-process noise
//                          shim-seq2    shim, context with sequences: 2 (server-like; one active sequence)
//                          shim-micro   shim + batching.dispatchSchedule = queueMicrotask, sequences: 2
//                          completion   shim + LlamaCompletion.generateCompletion (high-level API) instead of seq.evaluate
//                          ref          native llama.cpp (bench/threads/llama-ref.c), persistent threadpool, poll 50
//                          ref-noattach native llama.cpp with ggml's per-decode disposable threadpool
//                        modifiers can be appended with "+": uv1, uv2 (UV_THREADPOOL_SIZE), exec, noexec, poll0,
//                        seq2, micro - e.g. "shim+uv1", "ab+uv1"
//   --shim PATH          shim library (default native/build/libcorral-threadpool.so)
//   --json FILE          also write all raw results as JSON
//   --idle 0.9           before each child, wait until >= this fraction of CPU time was idle over 1 s
//                        (0 = don't wait); --idle-wait 120 caps the wait in seconds
//   --max-foreign 0.1    a run counts as "clean" when other processes used at most this many cores
//                        on average during it (from /proc/stat); medians use clean runs only when
//                        there are any (the n column shows clean/total)
//
// Every configuration runs in its own child process; configurations are interleaved
// round-robin (order reversed every other round) so that background load affects them
// alike. Reported: median and best tokens/s over all clean measured runs, "% of ref" (ratio
// of medians) and "paired %" (per round, config median / ref median of the same round;
// median [min-max] over rounds - robust to the slow drift in speed a shared VM shows),
// startup costs of the node children, and whether the greedy tokens of all
// configurations are identical (node-llama-cpp and the native reference included).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = resolve(here, "..", "..");
const PROMPT_TEXT = "The quick brown fox jumps over the lazy dog. Once upon a time";
const MARK = "@@GEN_SPEED@@";

// Machine-wide busy CPU seconds (all CPUs, /proc/stat) and this process's own CPU seconds:
// (busy - own) / wall = average number of cores other processes used during a run.
function machineBusyS() {
    try {
        const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
        return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / 100; // USER_HZ is 100 on Linux
    } catch { return NaN; }
}
const ownCpuS = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
function foreignMeter() {
    const b0 = machineBusyS(), o0 = ownCpuS(), t0 = performance.now();
    return () => {
        const wall = (performance.now() - t0) / 1000;
        if (wall < 0.3) return -1; // /proc/stat has 10 ms resolution: too short to tell
        const f = ((machineBusyS() - b0) - (ownCpuS() - o0)) / wall;
        return Number.isFinite(f) ? Math.max(0, f) : -1;
    };
}

// ---------------------------------------------------------------- child: node-llama-cpp
async function child(cfg) {
    let shim = null;
    if (cfg.dlopenShim) {
        const { constants } = await import("node:os");
        shim = { exports: {} };
        process.dlopen(shim, cfg.dlopenShim, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
    }
    const t0 = performance.now();
    const { getLlama, LlamaLogLevel, LlamaCompletion } = await import("node-llama-cpp");
    const t1 = performance.now();
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
    const t2 = performance.now();
    const model = await llama.loadModel({ modelPath: cfg.model, gpuLayers: 0 });
    const t3 = performance.now();
    const ctxOptions = { contextSize: 2048, sequences: cfg.sequences ?? 1, threads: cfg.threads, batchSize: 512 };
    if (cfg.dispatch === "microtask") ctxOptions.batching = { dispatchSchedule: (dispatch) => queueMicrotask(dispatch) };
    const ctx = await model.createContext(ctxOptions);
    const t4 = performance.now();
    const seq = ctx.getSequence();

    const out = {
        startup: { importMs: t1 - t0, getLlamaMs: t2 - t1, loadModelMs: t3 - t2, createContextMs: t4 - t3 },
        pp_tps: [], tg_tps: [], pp_foreign: [], tg_foreign: [], tokens: [], prompt: []
    };

    // prompt processing: cfg.prompt deterministic tokens (same ids as llama-ref.c), one batch
    const nVocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length ?? 32000;
    const ppTokens = Array.from({ length: cfg.prompt }, (_, i) => 100 + (i * 7919) % (nVocab - 200));
    ppTokens[0] = model.tokens.bos;
    async function ppRun() {
        await seq.clearHistory();
        const foreign = foreignMeter();
        const s = performance.now();
        await seq.evaluateWithoutGeneratingNewTokens(ppTokens);
        const dt = performance.now() - s;
        return { tps: cfg.prompt / (dt / 1000), foreign: foreign() };
    }

    // generation: BOS + short prompt, greedy; the clock starts when the first token is out
    const prompt = [model.tokens.bos, ...model.tokenize(PROMPT_TEXT)];
    out.prompt = prompt;
    const completion = cfg.mode === "completion" ? new LlamaCompletion({ contextSequence: seq }) : null;
    async function genRun(n) {
        await seq.clearHistory();
        const toks = [];
        let s = 0, count = 0, foreign = null;
        if (completion) {
            await completion.generateCompletion(model.detokenize(prompt.slice(1)), {
                maxTokens: n + 1, temperature: 0,
                onToken(chunk) {
                    for (const t of chunk) {
                        if (s === 0) { foreign = foreignMeter(); s = performance.now(); } else count++;
                        toks.push(t);
                    }
                }
            });
        } else {
            for await (const t of seq.evaluate(prompt, { temperature: 0 })) {
                if (toks.length === 0) { foreign = foreignMeter(); s = performance.now(); } else count++;
                toks.push(t);
                if (count >= n) break;
            }
        }
        const dt = performance.now() - s;
        return { tps: count / (dt / 1000), foreign: foreign(), tokens: toks.slice(0, 32) };
    }

    // cfg.abModes: in-process A/B of the shim's run-time modes (0 off, 1 pool, 2 pool + executor),
    // alternating mode for every run, rotating the order each repetition
    const modes = cfg.abModes ?? [null];
    const setMode = (m) => { if (m != null) shim.exports.setMode(m); };
    const per = new Map(modes.map((m) => [m, { pp_tps: [], pp_foreign: [], tg_tps: [], tg_foreign: [], tokens: [] }]));
    const rotated = (rep) => modes.map((_, i) => modes[(i + rep) % modes.length]);
    if (cfg.prompt > 0) {
        for (const m of modes) { setMode(m); await ppRun(); } // warm-up
        for (let rep = 0; rep < cfg.runs; rep++) for (const m of rotated(rep)) {
            setMode(m);
            const r = await ppRun();
            per.get(m).pp_tps.push(r.tps); per.get(m).pp_foreign.push(r.foreign);
        }
    }
    for (const m of modes) { setMode(m); await genRun(Math.min(64, cfg.gen)); } // warm-up (JIT, caches)
    for (let rep = 0; rep < cfg.runs; rep++) for (const m of rotated(rep)) {
        setMode(m);
        const r = await genRun(cfg.gen);
        const o = per.get(m);
        o.tg_tps.push(r.tps); o.tg_foreign.push(r.foreign); o.tokens = r.tokens;
    }
    if (cfg.abModes) {
        out.sub = {};
        for (const [m, o] of per) out.sub[["off", "pool", "exec"][m]] = { ...o, prompt };
    } else {
        Object.assign(out, per.get(null));
    }
    if (shim?.exports?.stats) out.shimStats = JSON.parse(shim.exports.stats());
    process.stdout.write(MARK + JSON.stringify(out) + "\n");
    // exit without disposing: teardown is not measured
    process.exit(0);
}

// ---------------------------------------------------------------- native reference
function binsDir() {
    // the prebuilt binaries node-llama-cpp uses on linux-x64 (CPU build)
    const candidates = [
        join(projectRoot, "node_modules", "@node-llama-cpp", "linux-x64", "bins", "linux-x64"),
        join(projectRoot, "node_modules", "node-llama-cpp", "node_modules", "@node-llama-cpp", "linux-x64", "bins", "linux-x64")
    ];
    const found = candidates.find((d) => existsSync(d));
    if (!found) throw new Error("prebuilt @node-llama-cpp/linux-x64 binaries not found");
    return found;
}

function buildRef() {
    const bins = binsDir();
    const bundle = join(projectRoot, "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle");
    const src = join(here, "llama-ref.c");
    const key = createHash("sha256").update(bins + bundle).update(readFileSync(src)).digest("hex").slice(0, 12);
    const dir = join(tmpdir(), `corral-llama-ref-${key}`);
    const exe = join(dir, "llama-ref");
    if (existsSync(exe)) return { exe, bins };
    if (!existsSync(bundle)) throw new Error(`no ${bundle}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const run = (cmd, args, opts = {}) => {
        const r = spawnSync(cmd, args, { stdio: [opts.input ? "pipe" : "ignore", "pipe", "pipe"], ...opts });
        if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
        return r.stdout;
    };
    const repo = join(dir, "repo");
    run("git", ["init", "-q", repo]);
    run("git", ["-C", repo, "fetch", "-q", bundle, "HEAD"]);
    const tar = run("git", ["-C", repo, "archive", "FETCH_HEAD", "include", "ggml/include"], { maxBuffer: 64 << 20 });
    run("tar", ["-x", "-C", dir], { input: tar });
    rmSync(repo, { recursive: true, force: true });
    const libs = readdirSync(bins);
    const libllama = libs.find((f) => /^libllama\..*so$/.test(f) || f === "libllama.so");
    const libggml = libs.find((f) => /^libggml\..*so$/.test(f) || f === "libggml.so");
    run("cc", ["-O2", "-o", exe, src, "-I", join(dir, "include"), "-I", join(dir, "ggml", "include"),
        "-L", bins, `-l:${libllama}`, `-l:${libggml}`, "-l:libggml-base.so", `-Wl,-rpath,${bins}`]);
    return { exe, bins };
}

// ---------------------------------------------------------------- parent
function parseArgs(argv) {
    const opts = { threads: [1, 2], gen: 256, prompt: 512, runs: 3, rounds: 2,
        variants: ["off", "shim", "ref"], shim: join(projectRoot, "native", "build", "libcorral-threadpool.so"), json: null,
        idle: 0.9, idleWaitMs: 120000, maxForeign: 0.1 };
    const rest = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const v = () => argv[++i];
        if (a === "--threads") opts.threads = v().split(",").map(Number);
        else if (a === "--gen") opts.gen = Number(v());
        else if (a === "--prompt") opts.prompt = Number(v());
        else if (a === "--runs") opts.runs = Number(v());
        else if (a === "--rounds") opts.rounds = Number(v());
        else if (a === "--variants") opts.variants = v().split(",");
        else if (a === "--shim") opts.shim = resolve(v());
        else if (a === "--json") opts.json = resolve(v());
        else if (a === "--idle") opts.idle = Number(v());
        else if (a === "--max-foreign") opts.maxForeign = Number(v());
        else if (a === "--idle-wait") opts.idleWaitMs = Number(v()) * 1000;
        else rest.push(a);
    }
    if (rest.length !== 1) {
        console.error("usage: node bench/threads/gen-speed.mjs MODEL.gguf [--threads 1,2] [--gen 256] [--prompt 512] [--runs 3] [--rounds 2] [--variants off,shim,ref] [--shim PATH] [--json FILE]");
        process.exit(2);
    }
    opts.model = resolve(rest[0]);
    return opts;
}

function runChild(cmd, args, env) {
    return new Promise((res) => {
        const p = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "", stderr = "";
        p.stdout.on("data", (d) => stdout += d);
        p.stderr.on("data", (d) => stderr += d);
        p.on("close", (code) => res({ code, stdout, stderr }));
    });
}

// Wait (up to maxWaitMs) until the machine looks idle: >= minIdle of all CPU time idle over 1 s.
// Other processes on a 2-core box distort thread-scaling numbers badly, so each child starts in a quiet moment.
async function waitForIdle(minIdle, maxWaitMs) {
    if (!existsSync("/proc/stat") || minIdle <= 0) return null;
    const read = () => {
        const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
        return { idle: f[3] + (f[4] || 0), total: f.reduce((a, b) => a + b, 0) };
    };
    const start = Date.now();
    let last = 0;
    while (true) {
        const a = read();
        await new Promise((r) => setTimeout(r, 1000));
        const b = read();
        last = (b.idle - a.idle) / Math.max(1, b.total - a.total);
        if (last >= minIdle || Date.now() - start > maxWaitMs) return last;
    }
}

const median = (a) => { if (!a.length) return NaN; const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (x, d = 1) => Number.isFinite(x) ? x.toFixed(d) : "-";

async function parent(opts) {
    if (!existsSync(opts.model)) { console.error(`model not found: ${opts.model}`); process.exit(2); }
    const needsShim = opts.variants.some((v) => v.startsWith("shim") || v.startsWith("completion") || v.startsWith("ab"));
    if (needsShim && !existsSync(opts.shim)) {
        console.error(`shim not found: ${opts.shim} (run: node native/build.mjs)`);
        process.exit(2);
    }
    let ref = null;
    if (opts.variants.some((v) => v.startsWith("ref"))) {
        try { ref = buildRef(); }
        catch (err) { console.error(`native reference unavailable, skipping: ${err.message}`); }
    }

    const baseEnv = { ...process.env };
    delete baseEnv.LD_PRELOAD;
    const configs = [];
    for (const threads of opts.threads) for (const variant of opts.variants) configs.push({ threads, variant });
    const results = new Map(); // "variant@threads" -> collected runs

    console.error(`model ${opts.model}; ${opts.rounds} round(s) x ${opts.runs} run(s); gen ${opts.gen} tokens, prompt ${opts.prompt} tokens`);
    for (let round = 0; round < opts.rounds; round++) {
        // alternate the order each round so no configuration always runs right after another
        const order = round % 2 === 0 ? configs : [...configs].reverse();
        for (const c of order) {
            let cmd, args, env = { ...baseEnv };
            if (c.variant.startsWith("ref")) {
                if (!ref) continue;
                cmd = ref.exe;
                args = [ref.bins, opts.model, String(c.threads), String(opts.gen), String(opts.prompt),
                    c.variant === "ref-noattach" ? "0" : "1", "50", String(opts.runs)];
            } else {
                const cfg = { model: opts.model, threads: c.threads, gen: opts.gen, prompt: opts.prompt, runs: opts.runs };
                // a variant is a base name plus optional "+modifier"s, e.g. "shim+uv1", "ab+uv1"
                const [base, ...mods] = c.variant.split("+");
                if (base.startsWith("shim") || base === "completion") env.LD_PRELOAD = opts.shim;
                if (base === "shim-dlopen") { delete env.LD_PRELOAD; cfg.dlopenShim = opts.shim; }
                if (base === "shim-poll0" || mods.includes("poll0")) env.CORRAL_THREADPOOL_POLL = "0";
                if (base === "shim-exec" || mods.includes("exec")) env.CORRAL_THREADPOOL_EXECUTOR = "1";
                if (base === "shim-noexec" || mods.includes("noexec")) env.CORRAL_THREADPOOL_EXECUTOR = "0";
                if (base === "uv1" || mods.includes("uv1")) env.UV_THREADPOOL_SIZE = "1";
                if (mods.includes("uv2")) env.UV_THREADPOOL_SIZE = "2";
                if (base === "shim-seq2" || mods.includes("seq2")) cfg.sequences = 2;
                if (base === "shim-micro" || mods.includes("micro")) { cfg.sequences = 2; cfg.dispatch = "microtask"; }
                if (base === "completion") cfg.mode = "completion";
                if (base === "ab") { delete env.LD_PRELOAD; cfg.dlopenShim = opts.shim; cfg.abModes = [0, 1, 2]; }
                cmd = process.execPath;
                args = [fileURLToPath(import.meta.url), "--child", JSON.stringify(cfg)];
            }
            const idle = await waitForIdle(opts.idle, opts.idleWaitMs);
            const { code, stdout, stderr } = await runChild(cmd, args, env);
            const line = stdout.split("\n").find((l) => l.startsWith(MARK) || l.startsWith("{"));
            if (code !== 0 || !line) {
                const r = results.get(`${c.variant}@${c.threads}`) ?? results.set(`${c.variant}@${c.threads}`, { variant: c.variant, threads: c.threads, pp: [], tg: [], startup: [], tokens: null, prompt: null, errors: [] }).get(`${c.variant}@${c.threads}`);
                r.errors.push(`exit ${code}: ${stderr.slice(-500)}`);
                console.error(`  ${c.variant} t=${c.threads}: FAILED (exit ${code}) ${stderr.slice(-300)}`);
                continue;
            }
            const parsed = JSON.parse(line.startsWith(MARK) ? line.slice(MARK.length) : line);
            const subs = parsed.sub
                ? Object.entries(parsed.sub).map(([name, o]) => [`${c.variant}:${name}`, { ...o, startup: parsed.startup }])
                : [[c.variant, parsed]];
            for (const [variant, o] of subs) {
            const key = `${variant}@${c.threads}`;
            if (!results.has(key)) results.set(key, { variant, threads: c.threads, pp: [], tg: [], startup: [], tokens: null, prompt: null, errors: [] });
            const r = results.get(key);
            r.pp.push(...o.pp_tps.map((tps, i) => ({ tps, foreign: o.pp_foreign?.[i] ?? -1, round })));
            r.tg.push(...o.tg_tps.map((tps, i) => ({ tps, foreign: o.tg_foreign?.[i] ?? -1, round })));
            if (o.startup) r.startup.push(o.startup);
            r.tokens ??= o.tokens;
            r.prompt ??= o.prompt;
            r.idleBefore = [...(r.idleBefore ?? []), idle];
            const show = (tps, fr) => tps.map((x, i) => `${fmt(x)}${fr?.[i] > opts.maxForeign ? "*" : ""}`).join(" ");
            console.error(`  round ${round + 1} ${variant.padEnd(12)} t=${c.threads} (idle before ${idle == null ? "?" : fmt(100 * idle, 0) + "%"}): ` +
                `tg ${show(o.tg_tps, o.tg_foreign)} | pp ${show(o.pp_tps, o.pp_foreign)}` +
                `  [other load, cores: tg ${(o.tg_foreign ?? []).map((x) => fmt(x, 2)).join(" ")}; pp ${(o.pp_foreign ?? []).map((x) => fmt(x, 2)).join(" ")}]`);
            }
        }
    }

    // table
    const rows = [...results.values()];
    const refOf = (t) => results.get(`ref@${t}`);
    console.log("");
    console.log(`model: ${opts.model}`);
    console.log(`generation: ${opts.gen} tokens after a ${rows.find((r) => r.prompt)?.prompt?.length ?? "?"}-token prompt, greedy; prompt processing: ${opts.prompt} tokens in one batch`);
    console.log("");
    const head = ["config", "threads", "gen tok/s med", "gen best", "% of ref", "paired %", "pp tok/s med", "pp best", "% of ref", "paired %", "n gen clean/all", "n pp"];
    const table = [head];
    // foreign < 0: run too short to tell, counted as clean
    const isClean = (x) => x.foreign <= opts.maxForeign;
    const clean = (runs) => { const c = runs.filter(isClean); return (c.length ? c : runs).map((x) => x.tps); };
    const nClean = (runs) => runs.filter(isClean).length;
    // Paired ratio: per round, median of this config's clean runs / median of ref's clean runs in the
    // same round (children of one round run back to back); reported as median [min-max] over rounds.
    // Robust against the slow drift of the machine's speed that a shared VM shows.
    const paired = (runs, refRuns) => {
        const ratios = [];
        for (let round = 0; round < opts.rounds; round++) {
            const a = runs.filter((x) => x.round === round && isClean(x)).map((x) => x.tps);
            const b = refRuns.filter((x) => x.round === round && isClean(x)).map((x) => x.tps);
            if (a.length && b.length) ratios.push(median(a) / median(b));
        }
        if (!ratios.length) return "";
        return `${fmt(100 * median(ratios), 0)}% [${fmt(100 * Math.min(...ratios), 0)}-${fmt(100 * Math.max(...ratios), 0)}]`;
    };
    for (const r of rows) {
        if (!r.tg.length && !r.errors.length) continue;
        const rf = refOf(r.threads);
        const tgM = median(clean(r.tg)), ppM = median(clean(r.pp));
        const tgRef = rf && rf.tg.length ? median(clean(rf.tg)) : NaN, ppRef = rf && rf.pp.length ? median(clean(rf.pp)) : NaN;
        r.summary = { tgMedian: tgM, tgBest: Math.max(...r.tg.map((x) => x.tps)), ppMedian: ppM, ppBest: r.pp.length ? Math.max(...r.pp.map((x) => x.tps)) : NaN };
        const isRef = r.variant === "ref" || !rf;
        table.push([r.variant, String(r.threads), fmt(tgM), fmt(r.summary.tgBest),
            !isRef && Number.isFinite(tgRef) ? fmt(100 * tgM / tgRef, 0) + "%" : "",
            !isRef ? paired(r.tg, rf.tg) : "",
            fmt(ppM), fmt(r.summary.ppBest),
            !isRef && Number.isFinite(ppRef) && r.pp.length ? fmt(100 * ppM / ppRef, 0) + "%" : "",
            !isRef && r.pp.length ? paired(r.pp, rf.pp) : "",
            `${nClean(r.tg)}/${r.tg.length}` + (r.errors.length ? ` (${r.errors.length} failed)` : ""),
            `${nClean(r.pp)}/${r.pp.length}`]);
    }
    const widths = head.map((_, i) => Math.max(...table.map((row) => row[i].length)));
    for (const [i, row] of table.entries()) {
        console.log(row.map((cell, j) => j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j])).join("  "));
        if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
    }

    const st = rows.flatMap((r) => r.startup);
    if (st.length) {
        console.log("");
        console.log(`node startup (median of ${st.length} children): import node-llama-cpp ${fmt(median(st.map((s) => s.importMs)), 0)} ms, ` +
            `getLlama ${fmt(median(st.map((s) => s.getLlamaMs)), 0)} ms, loadModel ${fmt(median(st.map((s) => s.loadModelMs)), 0)} ms, ` +
            `createContext ${fmt(median(st.map((s) => s.createContextMs)), 0)} ms`);
    }

    for (const group of [rows.filter((r) => r.tokens && r.variant !== "completion"), rows.filter((r) => r.tokens && r.variant === "completion")]) {
        const withTokens = group;
        if (!withTokens.length) continue;
        const base = withTokens[0];
        const diff = withTokens.filter((r) => JSON.stringify(r.tokens) !== JSON.stringify(base.tokens));
        const promptDiff = withTokens.filter((r) => JSON.stringify(r.prompt) !== JSON.stringify(base.prompt));
        console.log("");
        if (!diff.length) console.log(`greedy tokens: identical across ${withTokens.map((r) => `${r.variant}@${r.threads}`).join(", ")} (first ${base.tokens.length} compared)`);
        else {
            console.log(`greedy tokens DIFFER from ${base.variant}@${base.threads}: ${diff.map((r) => `${r.variant}@${r.threads}`).join(", ")}`);
            for (const r of [base, ...diff]) console.log(`  ${r.variant}@${r.threads}: ${r.tokens.join(",")}`);
        }
        if (promptDiff.length) console.log(`note: prompt tokenization differs for ${promptDiff.map((r) => `${r.variant}@${r.threads}`).join(", ")}`);
    }
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, results: rows }, null, 2));
}

if (process.argv[2] === "--child") await child(JSON.parse(process.argv[3]));
else await parent(parseArgs(process.argv.slice(2)));
