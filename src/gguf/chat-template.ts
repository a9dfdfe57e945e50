// The default chat template stored in generated models (tokenizer.chat_template).
//
// ChatML with Hermes-style tool calling (the same layout as Qwen2.5's template,
// which both @huggingface/jinja and llama.cpp's Jinja engine are known to
// handle). It deliberately uses only plain Jinja: for/if/set, `is defined`,
// `is string`, `tojson`, `~` and `loop.*`; no macros, namespaces or exotic
// filters, since two independent engines must render it identically.
//
// Message content may be a string or a list of {type: "text", text} parts
// (other part types are skipped). Assistant tool call arguments may be a JSON
// string (OpenAI wire format) or an object (what llama.cpp's server passes),
// and are emitted as JSON either way.

export const CHATML_TOOLS_TEMPLATE = String.raw`{%- if tools is defined and tools -%}
{{- '<|im_start|>system\n' -}}
{%- if messages and messages[0].role == 'system' -%}
{%- if messages[0].content is string -%}
{{- messages[0].content -}}
{%- elif messages[0].content -%}
{%- for part in messages[0].content -%}
{%- if part.type == 'text' -%}{{- part.text -}}{%- endif -%}
{%- endfor -%}
{%- endif -%}
{{- '\n\n' -}}
{%- endif -%}
{{- '# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>' -}}
{%- for tool in tools -%}
{{- '\n' -}}{{- tool | tojson -}}
{%- endfor -%}
{{- '\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' -}}
{%- endif -%}
{%- for message in messages -%}
{%- if loop.first and message.role == 'system' and tools is defined and tools -%}
{#- already rendered above, merged into the tools system block -#}
{%- elif message.role == 'tool' -%}
{%- if loop.first or messages[loop.index0 - 1].role != 'tool' -%}
{{- '<|im_start|>user' -}}
{%- endif -%}
{{- '\n<tool_response>\n' -}}
{%- if message.content is string -%}
{{- message.content -}}
{%- elif message.content -%}
{%- for part in message.content -%}
{%- if part.type == 'text' -%}{{- part.text -}}{%- endif -%}
{%- endfor -%}
{%- endif -%}
{{- '\n</tool_response>' -}}
{%- if loop.last or messages[loop.index0 + 1].role != 'tool' -%}
{{- '<|im_end|>\n' -}}
{%- endif -%}
{%- elif message.role == 'assistant' and message.tool_calls is defined and message.tool_calls -%}
{{- '<|im_start|>assistant' -}}
{%- if message.content is string -%}
{%- if message.content -%}{{- '\n' ~ message.content -}}{%- endif -%}
{%- elif message.content is defined and message.content -%}
{{- '\n' -}}
{%- for part in message.content -%}
{%- if part.type == 'text' -%}{{- part.text -}}{%- endif -%}
{%- endfor -%}
{%- endif -%}
{%- for tool_call in message.tool_calls -%}
{%- if tool_call.function is defined -%}
{%- set tool_call = tool_call.function -%}
{%- endif -%}
{{- '\n<tool_call>\n{"name": "' ~ tool_call.name ~ '", "arguments": ' -}}
{%- if tool_call.arguments is string -%}
{{- tool_call.arguments -}}
{%- else -%}
{{- tool_call.arguments | tojson -}}
{%- endif -%}
{{- '}\n</tool_call>' -}}
{%- endfor -%}
{{- '<|im_end|>\n' -}}
{%- else -%}
{{- '<|im_start|>' ~ message.role ~ '\n' -}}
{%- if message.content is string -%}
{{- message.content -}}
{%- elif message.content -%}
{%- for part in message.content -%}
{%- if part.type == 'text' -%}{{- part.text -}}{%- endif -%}
{%- endfor -%}
{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt is defined and add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- endif -%}`;

/** The template written into generated models unless told otherwise. */
export const DEFAULT_CHAT_TEMPLATE = CHATML_TOOLS_TEMPLATE;
