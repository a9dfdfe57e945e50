// The web UI at / (webui/, built by `npm run build` into dist/webui), served by the router and by `corral -m`.
// Found beside the compiled code (dist/src/util → dist/webui), so a build made into another folder serves its own.
// Vite names every asset after a hash of its content, so assets are cached for good; index.html, which names
// them, is checked on every visit so that a rebuilt UI shows at once.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { staticFile, type StaticFile } from "./static-files.js";

export const WEBUI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "webui");

export interface WebUiFile extends StaticFile {
  cacheControl: string;
}

const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";

/** The paths the UI owns: its page and its bundle. They are public, as the page must load to ask for the key. */
export function isWebUiPath(urlPath: string): boolean {
  return urlPath === "/" || urlPath === "/index.html" || urlPath.startsWith("/assets/");
}

/**
 * The file for a UI path, or undefined (not a UI path, or no such asset). Without a built UI, / answers a short
 * page saying how to build it rather than a bare 404.
 */
export function webUiFile(urlPath: string, root = WEBUI_DIR): WebUiFile | undefined {
  if (!isWebUiPath(urlPath)) return undefined;
  if (urlPath.startsWith("/assets/")) {
    const file = staticFile(root, urlPath);
    return file && { ...file, cacheControl: IMMUTABLE };
  }
  const index = staticFile(root, "/index.html");
  if (index) return { ...index, cacheControl: REVALIDATE };
  return { body: Buffer.from(NOT_BUILT), type: "text/html; charset=utf-8", cacheControl: REVALIDATE };
}

const NOT_BUILT =
  "<!doctype html><meta charset=\"utf-8\"><title>corral</title>" +
  "<p>corral's web UI is not built: run <code>npm run build</code> in corral's folder (or <code>npm install</code>, " +
  "which builds it), then reload this page. The API is served at <code>/v1</code> either way.</p>\n";

/**
 * Where to send the page asked for at the bare prefix (`/p` under `--api-prefix /p`): to `/p/`, since its asset
 * links are relative and would otherwise resolve outside the prefix. Undefined for every other URL.
 */
export function prefixSlashRedirect(prefix: string | undefined, rawUrl: string): string | undefined {
  if (!prefix) return undefined;
  const q = rawUrl.indexOf("?");
  const pathPart = q < 0 ? rawUrl : rawUrl.slice(0, q);
  return pathPart === prefix ? `${prefix}/${q < 0 ? "" : rawUrl.slice(q)}` : undefined;
}
