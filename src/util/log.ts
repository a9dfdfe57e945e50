// Line logger for the two formats llama-server users know: plain text, or one JSON object per line
// (`--log-format json`), with llama.cpp's logging flags: --log-disable, --log-file, --log-colors, --log-prefix,
// --log-timestamps and -lv/--verbosity. Hand-written because pino's text output needs pino-pretty and a worker
// thread, and a model process must start fast.
import { openSync, writeSync } from "node:fs";
import { parseOnOffAuto } from "./on-off-auto.js";
import { StartupError } from "./startup-error.js";

export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Whether a message of `level` would be written (so that a caller can skip building one that would not). */
  enabled?(level: Level): boolean;
  /**
   * Holds the lines written from now to the end of this turn of the event loop and writes them together then (and
   * at exit): for a caller that logs on every request, one write instead of one per line.
   */
  cork?(): void;
}

export interface LogOptions {
  format: string;
  /** -v: every message, whatever the verbosity. */
  verbose: boolean;
  /** A name shown in every line. */
  prefix?: string;
  /** llama.cpp's threshold: messages above it are dropped (1 errors, 2 warnings, 3 info, 5 debug). Default 3. */
  verbosity?: number;
  /** --log-disable: nothing is written anywhere. */
  disable?: boolean;
  /** --log-file: every line also goes to this file, emptied first. */
  file?: string;
  /** --log-colors: color the level letter (auto = when the output is a terminal). */
  colors?: "on" | "off" | "auto";
  /** --log-prefix: the level letter before each text line. Default true. */
  levelPrefix?: boolean;
  /** --log-timestamps: the time since start before each text line, as llama.cpp prints it. */
  timestamps?: boolean;
}

/** llama.cpp's numeric level of each message kind (common/log.h). */
const LEVEL_NUMBER: Record<Level, number> = { error: 1, warn: 2, info: 3, debug: 5 };
const COLOR: Record<Level, string> = { info: "\x1b[32m", warn: "\x1b[35m", error: "\x1b[31m", debug: "\x1b[33m" };
const RESET = "\x1b[0m";

/** The logging flags of the command line as logger options. */
export function logOptionsFrom(o: {
  logFormat: string; verbose: boolean; verbosity: number; logDisable: boolean; logFile?: string; logColors: string;
  logPrefix: boolean; logTimestamps: boolean;
}): LogOptions {
  return {
    format: o.logFormat, verbose: o.verbose, verbosity: o.verbosity, disable: o.logDisable, colors: parseOnOffAuto(o.logColors),
    levelPrefix: o.logPrefix, timestamps: o.logTimestamps, ...(o.logFile ? { file: o.logFile } : {}),
  };
}

/** `M.SS.mmm.uuu`: minutes, seconds, milliseconds and microseconds since start, as llama.cpp's log. */
export function formatElapsed(us: number): string {
  const t = Math.max(0, Math.floor(us));
  const pad = (n: number, w: number) => String(n).padStart(w, "0");
  return `${Math.floor(t / 60_000_000)}.${pad(Math.floor(t / 1_000_000) % 60, 2)}.${pad(Math.floor(t / 1000) % 1000, 3)}.${pad(t % 1000, 3)}`;
}

export function createLogger(opts: LogOptions, out: NodeJS.WritableStream = process.stderr): Logger {
  if (opts.disable) return { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, enabled: () => false };
  const threshold = opts.verbose ? Infinity : (opts.verbosity ?? 3);
  const levelPrefix = opts.levelPrefix ?? true;
  const colors = opts.colors === "on" || (opts.colors === "auto" && (out as { isTTY?: boolean }).isTTY === true && !process.env["NO_COLOR"]);
  const start = process.hrtime.bigint();
  let fd: number | undefined;
  if (opts.file) {
    try {
      fd = openSync(opts.file, "w");
    } catch (err) {
      throw new StartupError(`cannot open --log-file '${opts.file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  const textLine = (level: Level, msg: string, fields: Record<string, unknown> | undefined, color: boolean): string => {
    const extra = fields && Object.keys(fields).length > 0
      ? " " + Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ")
      : "";
    const time = opts.timestamps ? `${formatElapsed(Number(process.hrtime.bigint() - start) / 1000)} ` : "";
    const letter = level[0]!.toUpperCase();
    const head = levelPrefix ? (color ? `${COLOR[level]}${letter}${RESET} ` : `${letter} `) : "";
    const body = `${opts.prefix ? `[${opts.prefix}] ` : ""}${msg}${extra}`;
    // as llama.cpp, warnings and errors keep their color to the end of the line
    return `${time}${head}${color && (level === "warn" || level === "error") ? `${COLOR[level]}${body}${RESET}` : body}\n`;
  };

  // A corked stream buffers what is written and hands it over in one writev when uncorked. Lines of one turn stay in
  // order with every other write to the stream; only a SIGKILL in that turn loses them.
  const stream = out as Partial<Pick<NodeJS.WriteStream, "cork" | "uncork">>;
  let corked = false;
  let flushAtExit = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    stream.uncork!();
  };
  const cork = () => {
    if (corked || !stream.cork || !stream.uncork) return;
    corked = true;
    stream.cork();
    setImmediate(uncork);
    if (!flushAtExit) {
      flushAtExit = true;
      process.on("exit", uncork);
    }
  };

  const write = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_NUMBER[level] > threshold) return;
    if (opts.format === "json") {
      const line = JSON.stringify({ time: new Date().toISOString(), level, ...(opts.prefix ? { name: opts.prefix } : {}), msg, ...fields }) + "\n";
      out.write(line);
      if (fd !== undefined) writeSync(fd, line);
      return;
    }
    const plain = textLine(level, msg, fields, false);
    out.write(colors ? textLine(level, msg, fields, true) : plain);
    // the file never gets color codes: it is read with tools, not on a terminal
    if (fd !== undefined) writeSync(fd, plain);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    enabled: (level) => LEVEL_NUMBER[level] <= threshold,
    cork,
  };
}

const LETTER_LEVEL: Record<string, Level> = { D: "debug", I: "info", W: "warn", E: "error" };
const JSON_LEVELS = new Set<string>(["debug", "info", "warn", "error"]);
// llama.cpp's and corral's text lines: an optional `M.SS.mmm.uuu` time, then the level letter (maybe colored)
const TEXT_LINE = /^(?:\d+\.\d\d\.\d{3}\.\d{3} )?([DIWE]) (.*)$/s;
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * A line a child process wrote, as one line of this logger at the child's own level: `E request failed` from model
 * `m` becomes `E [m] request failed`, not `I [m] E request failed`. Lines without a level (llama.cpp writes many)
 * are info; a child's JSON lines (--log-format json) keep their level and fields.
 */
export function relayLine(log: Logger, name: string, line: string): void {
  if (line.startsWith("{")) {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o && typeof o === "object" && typeof o["level"] === "string" && JSON_LEVELS.has(o["level"]) && typeof o["msg"] === "string") {
        // the child's time and name are replaced by the router's
        const { level, msg, time: _time, name: _name, ...fields } = o;
        log[level as Level](`[${name}] ${msg}`, Object.keys(fields).length > 0 ? fields : undefined);
        return;
      }
    } catch {
      // not JSON after all: relayed as text
    }
  }
  const plain = line.replace(ANSI, "");
  const m = TEXT_LINE.exec(plain);
  if (m) log[LETTER_LEVEL[m[1]!]!](`[${name}] ${m[2]!}`);
  else log.info(`[${name}] ${plain}`);
}
