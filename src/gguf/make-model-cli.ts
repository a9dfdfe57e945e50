// Writes a random-weight llama GGUF model:
//   node dist/src/gguf/make-model-cli.js --out FILE [--seed N] [--dim N] [--layers N]
//     [--heads N] [--kv-heads N] [--ffn N] [--vocab N] [--ctx N] [--type f16|f32]
//     [--name NAME] [--no-template]
// Exit status: 0 written, 1 write failed, 2 bad arguments.

import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { estimateRandomLlamaModel, writeRandomLlamaModel, type RandomLlamaOptions } from "./random-llama.js";

const PROG = "make-model";
const USAGE =
    `usage: ${PROG} --out FILE [--seed N] [--dim N] [--layers N] [--heads N] [--kv-heads N] [--ffn N] ` +
    "[--vocab N] [--ctx N] [--type f16|f32] [--name NAME] [--no-template] [--estimate]";

class UsageError extends Error {}

interface CliArgs {
    out?: string;
    estimateOnly: boolean;
    options: RandomLlamaOptions;
}

const intFlags = {
    "--seed": "seed",
    "--dim": "dim",
    "--layers": "layers",
    "--heads": "heads",
    "--kv-heads": "kvHeads",
    "--ffn": "ffnDim",
    "--vocab": "vocabSize",
    "--ctx": "contextLength"
} as const satisfies Record<string, keyof RandomLlamaOptions>;

function parseArgs(argv: string[]): CliArgs | "help" {
    const args: CliArgs = { estimateOnly: false, options: {} };
    for (let i = 0; i < argv.length; i++) {
        let flag = argv[i]!;
        let inline: string | undefined;
        const eq = flag.indexOf("=");
        if (flag.startsWith("--") && eq > 0) {
            inline = flag.slice(eq + 1);
            flag = flag.slice(0, eq);
        }
        const value = (): string => {
            if (inline !== undefined)
                return inline;
            const next = argv[i + 1];
            if (next === undefined || next.startsWith("--"))
                throw new UsageError(`${flag} needs a value`);
            i++;
            return next;
        };
        const noValue = () => {
            if (inline !== undefined)
                throw new UsageError(`${flag} takes no value`);
        };

        if (flag === "-h" || flag === "--help")
            return "help";
        if (flag === "--out") {
            args.out = value();
        } else if (flag === "--type") {
            const t = value();
            if (t !== "f16" && t !== "f32")
                throw new UsageError(`--type must be f16 or f32, got ${JSON.stringify(t)}`);
            args.options.fileType = t;
        } else if (flag === "--name") {
            args.options.name = value();
        } else if (flag === "--no-template") {
            noValue();
            args.options.chatTemplate = null;
        } else if (flag === "--estimate") {
            noValue();
            args.estimateOnly = true;
        } else if (Object.hasOwn(intFlags, flag)) {
            const raw = value();
            if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)))
                throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(raw)}`);
            args.options[intFlags[flag as keyof typeof intFlags]] = Number(raw);
        } else {
            throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
        }
    }
    if (args.out === undefined && !args.estimateOnly)
        throw new UsageError("--out FILE is required");
    return args;
}

function formatBytes(n: number): string {
    return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

async function main(argv: string[]): Promise<number> {
    let args: CliArgs | "help";
    let estimate: ReturnType<typeof estimateRandomLlamaModel>;
    try {
        args = parseArgs(argv);
        if (args === "help") {
            console.log(USAGE);
            return 0;
        }
        // Validates the shape before anything touches the disk.
        estimate = estimateRandomLlamaModel(args.options);
    } catch (err) {
        console.error(`${PROG}: ${err instanceof Error ? err.message : String(err)} (see --help)`);
        return 2;
    }

    if (args.estimateOnly || args.out === undefined) {
        console.log(`${estimate.parameterCount} parameters, ${estimate.fileSize} bytes (${formatBytes(estimate.fileSize)})`);
        return 0;
    }

    const out = resolve(args.out);
    // Write beside the target and rename, so nobody ever loads a half-written model.
    const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
    const started = performance.now();
    try {
        const info = await writeRandomLlamaModel(tmp, args.options);
        await rename(tmp, out);
        const seconds = (performance.now() - started) / 1000;
        console.log(`${out}: ${info.parameterCount} parameters, ${info.fileSize} bytes (${formatBytes(info.fileSize)}), ` +
            `${info.options.fileType}, written in ${seconds.toFixed(2)} s`);
        return 0;
    } catch (err) {
        await unlink(tmp).catch(() => undefined);
        console.error(`${PROG}: cannot write ${out}: ${err instanceof Error ? err.message : String(err)}`);
        return 1;
    }
}

process.exitCode = await main(process.argv.slice(2));
