// A reader for the plain block YAML of Kubernetes manifests and Helm values: maps, lists, "---" documents,
// comments, quoted and plain scalars, one-line [flow, lists]. Every scalar stays a string. Anything beyond
// (block scalars, anchors, multi-line flow) throws, so a manifest that needs more fails its test rather than being
// read wrongly.

export type Yaml = string | Yaml[] | { [key: string]: Yaml };

interface Line {
  indent: number;
  text: string;
  no: number;
}

export function parseYamlDocuments(source: string): Yaml[] {
  const docs: Line[][] = [[]];
  source.split(/\r?\n/).forEach((raw, i) => {
    if (/^---\s*$/.test(raw)) return docs.push([]);
    const text = stripComment(raw).replace(/\s+$/, "");
    if (text.trim() === "") return;
    const indent = text.length - text.trimStart().length;
    docs.at(-1)!.push({ indent, text: text.trimStart(), no: i + 1 });
  });
  return docs.filter((d) => d.length > 0).map((lines) => {
    const r = new Reader(lines);
    const v = r.block(lines[0]!.indent);
    if (!r.done()) throw new Error(`line ${r.peek()!.no}: unexpected indentation`);
    return v;
  });
}

class Reader {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  done(): boolean {
    return this.i >= this.lines.length;
  }

  peek(): Line | undefined {
    return this.lines[this.i];
  }

  block(indent: number): Yaml {
    const first = this.peek()!;
    return first.text === "-" || first.text.startsWith("- ") ? this.list(indent) : this.map(indent);
  }

  private list(indent: number): Yaml[] {
    const out: Yaml[] = [];
    for (let l = this.peek(); l && l.indent === indent && (l.text === "-" || l.text.startsWith("- ")); l = this.peek()) {
      this.i++;
      const rest = l.text.slice(1).trimStart();
      if (rest === "") {
        out.push(this.nested(indent));
      } else if (isMapEntry(rest)) {
        // "- key: value": a map whose further keys sit under the first one
        this.lines.splice(this.i, 0, { indent: indent + (l.text.length - rest.length), text: rest, no: l.no });
        out.push(this.map(indent + (l.text.length - rest.length)));
      } else {
        out.push(scalar(rest, l.no));
      }
    }
    return out;
  }

  private map(indent: number): { [key: string]: Yaml } {
    const out: { [key: string]: Yaml } = {};
    for (let l = this.peek(); l && l.indent === indent && !l.text.startsWith("- "); l = this.peek()) {
      this.i++;
      const m = /^("[^"]*"|'[^']*'|[^:]+?):(?:\s+(.*))?$/.exec(l.text);
      if (!m) throw new Error(`line ${l.no}: expected KEY: VALUE, got '${l.text}'`);
      const key = unquote(m[1]!);
      if (m[2] !== undefined && m[2] !== "") {
        out[key] = scalar(m[2], l.no);
        continue;
      }
      const next = this.peek();
      // a list may sit at its key's own indentation
      if (next && next.indent === indent && next.text.startsWith("- ")) out[key] = this.list(indent);
      else out[key] = this.nested(indent);
    }
    return out;
  }

  private nested(indent: number): Yaml {
    const next = this.peek();
    if (!next || next.indent <= indent) return "";
    return this.block(next.indent);
  }
}

function isMapEntry(text: string): boolean {
  return /^("[^"]*"|'[^']*'|[^:"'[{]+?):(\s|$)/.test(text);
}

function scalar(text: string, no: number): Yaml {
  const t = text.trim();
  if (/^[|>]/.test(t) || /^[&*!]/.test(t)) throw new Error(`line ${no}: block scalars, anchors and tags are beyond this reader`);
  if (t.startsWith("[")) {
    if (!t.endsWith("]")) throw new Error(`line ${no}: a flow list must end on its line`);
    const inner = t.slice(1, -1).trim();
    return inner === "" ? [] : inner.split(",").map((s) => unquote(s.trim()));
  }
  if (t.startsWith("{")) throw new Error(`line ${no}: flow maps are beyond this reader`);
  return unquote(t);
}

function unquote(s: string): string {
  if (s.startsWith('"') && s.endsWith('"') && s.length >= 2) return JSON.parse(s) as string;
  if (s.startsWith("'") && s.endsWith("'") && s.length >= 2) return s.slice(1, -1).replace(/''/g, "'");
  return s;
}

/** The line without its comment: a # at the start or after a space, outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if ((c === '"' || c === "'") && /(^|[\s:\-[,])$/.test(line.slice(0, i))) {
      // a quote opens a scalar only where one starts (an apostrophe inside plain text is just a letter)
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) {
      return line.slice(0, i);
    }
  }
  return line;
}
