// Model output rendered as Markdown. markdown-it runs with html: false, so whatever a model writes is escaped text,
// never markup, and its link validation refuses javascript: and data: URLs; dangerouslySetInnerHTML only ever gets
// what markdown-it produced.
import { memo } from "react";
import MarkdownIt, { type RendererRule } from "markdown-it";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import typescript from "highlight.js/lib/languages/typescript";

// A few common languages only: the full set would multiply the bundle for languages a chat rarely shows.
for (const [name, lang] of Object.entries({ bash, c, cpp, javascript, json, python, rust, typescript })) hljs.registerLanguage(name, lang);
hljs.registerAliases(["sh", "shell", "zsh"], { languageName: "bash" });
hljs.registerAliases(["js", "jsx", "mjs"], { languageName: "javascript" });
hljs.registerAliases(["ts", "tsx"], { languageName: "typescript" });
hljs.registerAliases(["py"], { languageName: "python" });
hljs.registerAliases(["rs"], { languageName: "rust" });

const md = new MarkdownIt({
  html: false,
  linkify: true,
  breaks: true,
  highlight(code, lang): string {
    const name = lang.trim().split(/\s+/)[0] ?? "";
    if (name && hljs.getLanguage(name)) {
      try {
        return `<pre class="hljs"><code>${hljs.highlight(code, { language: name, ignoreIllegals: true }).value}</code></pre>`;
      } catch {
        // fall through to plain, escaped code
      }
    }
    return `<pre class="hljs"><code>${md.utils.escapeHtml(code)}</code></pre>`;
  },
});

// Links open beside the chat instead of replacing it, and give the target page no handle on this one.
const defaultLinkOpen: RendererRule = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = ((tokens, idx, options, env, self) => {
  tokens[idx]!.attrSet("target", "_blank");
  tokens[idx]!.attrSet("rel", "noopener noreferrer");
  return defaultLinkOpen(tokens, idx, options, env, self);
}) satisfies RendererRule;

/** Memoized on the text, so a streaming answer re-renders alone and finished ones are left as they are. */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return <div className="md" dangerouslySetInnerHTML={{ __html: md.render(text) }} />;
});
