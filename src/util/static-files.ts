// --path DIR: llama-server serves the static files of DIR (a custom web UI) ahead of its API routes, index.html
// for a directory. Both servers use this lookup; files are read when asked for (a UI's files are small).
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { StartupError } from "./startup-error.js";

export interface StaticFile {
  body: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json",
  ".map": "application/json", ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
  ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp", ".ico": "image/x-icon",
  ".wasm": "application/wasm", ".woff": "font/woff", ".woff2": "font/woff2",
};

/** The directory, checked at start-up as llama-server does ("static assets path not found"). */
export function checkStaticDir(dir: string): string {
  try {
    if (statSync(dir).isDirectory()) return path.resolve(dir);
  } catch {
    // reported below
  }
  throw new StartupError(`--path '${dir}': static assets path not found (not a directory)`);
}

/** The file a URL path names inside `root`, or undefined (no such file, or a path that leaves the directory). */
export function staticFile(root: string, urlPath: string): StaticFile | undefined {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (rel.includes("\0")) return undefined;
  let file = path.resolve(root, `.${rel.startsWith("/") ? rel : `/${rel}`}`);
  if (file !== root && !file.startsWith(root + path.sep)) return undefined;
  try {
    if (statSync(file).isDirectory()) file = path.join(file, "index.html");
    const body = readFileSync(file);
    return { body, type: TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream" };
  } catch {
    return undefined;
  }
}
