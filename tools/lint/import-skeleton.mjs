// Writes an import skeleton of the TypeScript sources for dependency-cruiser: for every .ts file under the given
// folders, a .js file at the same relative path that holds nothing but the file's relative imports.
//
// Why not cruise the sources or dist/ directly: dependency-cruiser reads .ts files through the `typescript`
// package's JavaScript compiler API, which TypeScript 7 (the Go port) no longer has; and the compiled dist/ has
// lost every import that only brings in types, although those tie modules together just as much (a cycle through
// `import type` is still a cycle). Here `import type`, an import used only for types, `export … from` and an
// `import("…")` (a dynamic import or a type) all become imports that dependency-cruiser's own parser reads.
//
// The patterns rely on the house style: a top-level import starts at the beginning of its line and its module
// specifier is the first string in it. Only relative specifiers matter to the layering rules.
//
// usage: node tools/lint/import-skeleton.mjs OUT_DIR ROOT...
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const STATIC_IMPORTS = [
  /^import\b[^;]*?(["'])(\.{1,2}\/[^"']*)\1/gm,
  /^export\s+(?:type\s+)?[{*][^;]*?(["'])(\.{1,2}\/[^"']*)\1/gm,
];
const DYNAMIC_IMPORT = /\bimport\s*\(\s*(["'])(\.{1,2}\/[^"']*)\1\s*\)/g;

/** @param {string} source @returns {string} the skeleton: one line per import, static ones first */
function importSkeleton(source) {
  // comment lines (`//`, and the lines of a `/** … */` block) may show an import as an example
  source = source.replace(/^\s*(\/\/|\/\*|\*).*$/gm, "");
  const lines = [];
  for (const re of STATIC_IMPORTS) for (const m of source.matchAll(re)) lines.push(`import ${JSON.stringify(m[2])};`);
  for (const m of source.matchAll(DYNAMIC_IMPORT)) lines.push(`import(${JSON.stringify(m[2])});`);
  return lines.join("\n") + "\n";
}

/** @param {string} dir @returns {string[]} the .ts files under dir, as paths relative to the working folder */
function typeScriptFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts"))
    .map((e) => path.join(e.parentPath, e.name));
}

const [out, ...roots] = process.argv.slice(2);
if (!out || roots.length === 0) {
  console.error("usage: node tools/lint/import-skeleton.mjs OUT_DIR ROOT...");
  process.exit(2);
}
rmSync(out, { recursive: true, force: true });
for (const file of roots.flatMap(typeScriptFiles)) {
  const target = path.join(out, file.replace(/\.ts$/, ".js"));
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, importSkeleton(readFileSync(file, "utf8")));
}
