// `npm run docs`: rewrites the flag table in README.md from the options table, between the markers.
import { readFileSync, writeFileSync } from "node:fs";
import { markdownFlagTable } from "../src/cli/help.js";

const START = "<!-- flags:start -->";
const END = "<!-- flags:end -->";
const file = new URL("../../README.md", import.meta.url);
const readme = readFileSync(file, "utf8");
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a < 0 || b < a) {
  process.stderr.write(`README.md has no ${START} ... ${END} markers\n`);
  process.exit(1);
}
writeFileSync(file, readme.slice(0, a + START.length) + "\n" + markdownFlagTable() + readme.slice(b));
process.stdout.write("README.md flag table updated\n");
