// Line logger for the two formats llama-server users know: plain text, or one JSON object per line
// (`--log-format json`). Hand-written because pino's text output needs pino-pretty and a worker thread, and
// a model process must start fast.
export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(opts: { format: string; verbose: boolean; prefix?: string }, out: NodeJS.WritableStream = process.stderr): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (level === "debug" && !opts.verbose) return;
    if (opts.format === "json") {
      out.write(JSON.stringify({ time: new Date().toISOString(), level, ...(opts.prefix ? { name: opts.prefix } : {}), msg, ...fields }) + "\n");
      return;
    }
    const extra = fields && Object.keys(fields).length > 0 ? " " + Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ") : "";
    out.write(`${level[0]!.toUpperCase()} ${opts.prefix ? `[${opts.prefix}] ` : ""}${msg}${extra}\n`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}
