// Entry point of bin/corral: parse the command line, then serve one model (-m) or run the router.
import { StartupError } from "../util/startup-error.js";
import { helpText } from "./help.js";
import { checkCombinations } from "../options/combinations.js";
import { CliError, parseArgs } from "../options/parse.js";
import { VERSION } from "../util/version.js";
import { ensureDemoModels, type DemoModel } from "../catalog/demo-model.js";
import { createLogger, logOptionsFrom } from "../util/log.js";
import { SPARE_ENV } from "../engines/node/protocol.js";

async function main(): Promise<void> {
  let argv = process.argv.slice(2);
  if (argv[0] === "engine") {
    // imported here so that a router never loads the build tooling
    const { runEngineCommand } = await import("./engine-command.js");
    process.exitCode = await runEngineCommand(argv.slice(1));
    return;
  }
  if (argv[0] === "pull" || argv[0] === "ls" || argv[0] === "rm") {
    // imported here so that a router or model process never loads the download code
    const { runHubCommand } = await import("./pull-command.js");
    process.exitCode = await runHubCommand(argv[0], argv.slice(1));
    return;
  }
  if (process.env[SPARE_ENV] === "1" && process.send) {
    // a router's spare process: warm up, then serve whichever model it is given
    delete process.env[SPARE_ENV];
    const { waitAsSpare } = await import("../model-server/spare.js");
    argv = (await waitAsSpare()).argv;
  }
  const { options, warnings, fromArgv, passthrough } = parseArgs(argv);
  if (options.help) {
    process.stdout.write(helpText());
    return;
  }
  if (options.version) {
    process.stdout.write(`corral ${VERSION}\n`);
    return;
  }
  checkCombinations(options);
  const log = createLogger(logOptionsFrom(options));
  for (const w of warnings) log.warn(w);
  if (options.hfFile && !options.hfRepo) throw new CliError("--hf-file needs --hf-repo (the repo the file is in)");
  if (options.hfRepo && !options.model) {
    const { resolveHfOption } = await import("../hf/cli-model.js");
    Object.assign(options, await resolveHfOption(options, log));
  }
  if (options.model) {
    // imported here so that a router never loads the model server's code (Fastify, templates, node-llama-cpp)
    const { runModelServer } = await import("../model-server/main.js");
    return runModelServer(options, options.model, log);
  }
  // no -m: a router, as llama-server. With no folder and no presets, the demo model is served beside the cache.
  let demoModels: DemoModel[] | undefined;
  if (!options.modelsDir && !options.modelsPreset) {
    demoModels = await ensureDemoModels(log);
    log.info(`no -m, --models-dir or --models-preset: serving the Hugging Face cache and the generated demo models ${demoModels.map((m) => `'${m.id}'`).join(" and ")} (random weights: their output is random text)`);
  }
  // imported here so that model processes never load the router's code, nor a router without --cluster NATS's
  const { runRouter } = await import("../router/main.js");
  const extension = options.cluster?.length ? (await import("../cluster/attach.js")).clusterExtension(options, log) : undefined;
  await runRouter({ options, fromArgv, passthrough, ...(demoModels ? { demoModels } : {}), ...(extension ? { extension } : {}) }, log);
}

main().catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`corral: error: ${err.message}\ncorral: run 'corral --help' for the list of options\n`);
    process.exit(2);
  }
  if (err instanceof StartupError) {
    process.stderr.write(`corral: error: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`corral: fatal: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
