// Entry point of bin/corral: parse the command line, then serve one model.
import { runModelServer } from "../model-server/main.js";
import { StartupError } from "../util/startup-error.js";
import { helpText } from "./help.js";
import { CliError, parseArgs } from "./parse.js";
import { VERSION } from "./version.js";
import { ensureDemoModel } from "../demo-model.js";
import { createLogger } from "../util/log.js";

async function main(): Promise<void> {
  const { options, warnings } = parseArgs(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(helpText());
    return;
  }
  if (options.version) {
    process.stdout.write(`corral ${VERSION}\n`);
    return;
  }
  const log = createLogger({ format: options.logFormat, verbose: options.verbose });
  for (const w of warnings) log.warn(w);
  let modelPath = options.model;
  if (!modelPath) {
    modelPath = await ensureDemoModel(log);
    log.info(`no -m given: serving the generated demo model (random weights: its output is random text)`);
  }
  await runModelServer(options, modelPath, log);
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
