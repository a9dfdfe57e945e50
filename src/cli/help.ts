import { DEFAULTS, OPTIONS, type OptionSpec } from "../options/options.js";

const GROUP_TITLES: Record<OptionSpec["group"], string> = {
  server: "Server",
  router: "Router (without -m: every discovered model behind one endpoint)",
  model: "Model",
  sampling: "Sampling defaults (a request's own fields override them)",
  logging: "Logging",
};

function spelling(spec: OptionSpec): string {
  const names = [...spec.names, ...(spec.negNames ?? [])].join(", ");
  return spec.valueName ? `${names} ${spec.valueName}` : names;
}

function defaultText(spec: OptionSpec): string | undefined {
  const d = (DEFAULTS as unknown as Record<string, unknown>)[spec.key];
  if (d === undefined || spec.key === "help" || spec.key === "version") return undefined;
  if (spec.type === "bool") return d ? "enabled" : "disabled";
  return String(d);
}

/** `--help` text, generated from the options table. */
export function helpText(): string {
  const lines = ["usage: corral [options]", "", "Serve GGUF models behind an OpenAI-compatible HTTP API (llama-server compatible).",
    "With -m FILE it serves that model; without it, it is a router that loads each model on demand.", "",
    "Commands:",
    "  corral pull OWNER/REPO[:QUANT]   download a model into the Hugging Face cache (corral pull --help)",
    "  corral ls                        list the models in the Hugging Face cache",
    "  corral rm OWNER/REPO[:QUANT]     remove a model from the Hugging Face cache",
    "  corral engine build|list         build llama-server for the llama-server engine, or list the binaries found", ""];
  for (const group of Object.keys(GROUP_TITLES) as OptionSpec["group"][]) {
    lines.push(`${GROUP_TITLES[group]}:`);
    for (const spec of OPTIONS.filter((o) => o.group === group)) {
      const left = `  ${spelling(spec)}`;
      const extras = [defaultText(spec) !== undefined ? `default: ${defaultText(spec)}` : "", spec.env ? `env: ${spec.env}` : ""]
        .filter(Boolean)
        .join("; ");
      const text = extras ? `${spec.help} (${extras})` : spec.help;
      lines.push(left.length >= 34 ? `${left}\n${" ".repeat(36)}${text}` : `${left.padEnd(36)}${text}`);
    }
    lines.push("");
  }
  lines.push("Other llama-server flags are accepted with a warning; unknown flags are an error (exit 2).");
  return lines.join("\n") + "\n";
}

/** The README's flag table (Markdown), generated from the same table so the two never disagree. */
export function markdownFlagTable(): string {
  const rows = ["| flag | env | default | meaning |", "|---|---|---|---|"];
  for (const spec of OPTIONS) {
    const flag = spelling(spec).replace(/\|/g, "\\|");
    rows.push(`| \`${flag}\` | ${spec.env ? `\`${spec.env}\`` : ""} | ${defaultText(spec) ?? ""} | ${spec.help.replace(/\|/g, "\\|")} |`);
  }
  return rows.join("\n") + "\n";
}
