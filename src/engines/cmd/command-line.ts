// A `cmd` preset value as an argument vector, and its macros. Written by hand rather than with a shell-parsing
// library: corral runs no shell (no pipes, globs or $VAR expansion, so a model's command line cannot do more than
// start one program), and its macros must be expanded inside words after splitting, which such libraries do not do.

/** Splits like a POSIX shell does words: blanks separate, '…' is literal, "…" and \ escape. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) word += line[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote in '${line}'`);
  if (inWord) words.push(word);
  return words;
}

export interface Macros {
  PORT: string;
  HOST: string;
  MODEL: string;
  MODEL_ID: string;
}

/** Replaces ${PORT}, ${HOST}, ${MODEL} and ${MODEL_ID}; any other ${…} is left as written. */
export function expandMacros(text: string, m: Macros): string {
  return text.replace(/\$\{(PORT|HOST|MODEL|MODEL_ID)\}/g, (_, k: keyof Macros) => m[k]);
}
