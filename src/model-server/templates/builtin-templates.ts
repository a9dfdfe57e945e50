// llama.cpp's built-in chat formats, chosen by name with --chat-template NAME (e.g. `llama3`, `chatml`,
// `command-r`): the fixed layouts llama-server applies without Jinja. Written from the formats' documented layouts;
// only the common ones are here, other names are treated as Jinja source as before.

export interface PlainMessage {
  role: string;
  content: string;
}

type Format = (messages: readonly PlainMessage[], addAssistant: boolean) => string;

const trim = (s: string) => s.replace(/^[\s]+|[\s]+$/g, "");

/** `<open>role<sep>content<close>` per message, then the assistant header when asked. */
function perRole(open: string, sep: string, close: string, opts: { trimContent?: boolean } = {}): Format {
  return (messages, addAssistant) => {
    let out = "";
    for (const m of messages) out += `${open}${m.role}${sep}${opts.trimContent ? trim(m.content) : m.content}${close}`;
    return addAssistant ? `${out}${open}assistant${sep}` : out;
  };
}

function llama2(variant: { system: boolean; bosInHistory: boolean; strip: boolean }): Format {
  return (messages) => {
    let out = "[INST] ";
    let insideTurn = true; // the first [INST] is already open
    for (const m of messages) {
      const content = variant.strip ? trim(m.content) : m.content;
      if (!insideTurn) {
        insideTurn = true;
        out += variant.bosInHistory ? "<s>[INST] " : "[INST] ";
      }
      if (m.role === "system") out += variant.system ? `<<SYS>>\n${content}\n<</SYS>>\n\n` : `${content}\n`;
      else if (m.role === "user") out += `${content} [/INST]`;
      else {
        out += `${content}</s>`;
        insideTurn = false;
      }
    }
    return out;
  };
}

function mistral(version: "v1" | "v3" | "v3-tekken"): Format {
  const lead = version === "v1" ? " " : "";
  const trail = version === "v3-tekken" ? "" : " ";
  return (messages) => {
    let out = "";
    let insideTurn = false;
    for (const m of messages) {
      if (!insideTurn) {
        out += `${lead}[INST]${trail}`;
        insideTurn = true;
      }
      if (m.role === "system") out += `${m.content}\n\n`;
      else if (m.role === "user") out += `${m.content}${lead}[/INST]`;
      else {
        out += `${trail}${version === "v3" ? trim(m.content) : m.content}</s>`;
        insideTurn = false;
      }
    }
    return out;
  };
}

function mistral7(tekken: boolean): Format {
  const sp = tekken ? "" : " ";
  return (messages) =>
    messages
      .map((m) =>
        m.role === "system" ? `[SYSTEM_PROMPT]${sp}${m.content}[/SYSTEM_PROMPT]` : m.role === "user" ? `[INST]${sp}${m.content}[/INST]` : `${sp}${m.content}</s>`,
      )
      .join("");
}

const gemma: Format = (messages, addAssistant) => {
  let out = "";
  let system = "";
  for (const m of messages) {
    if (m.role === "system") {
      system += trim(m.content);
      continue;
    }
    const role = m.role === "assistant" ? "model" : m.role;
    out += `<start_of_turn>${role}\n`;
    if (system && role !== "model") {
      out += `${system}\n\n`;
      system = "";
    }
    out += `${trim(m.content)}<end_of_turn>\n`;
  }
  return addAssistant ? `${out}<start_of_turn>model\n` : out;
};

const commandR: Format = (messages, addAssistant) => {
  const tag: Record<string, string> = { system: "<|SYSTEM_TOKEN|>", user: "<|USER_TOKEN|>", assistant: "<|CHATBOT_TOKEN|>" };
  let out = "";
  for (const m of messages) {
    const t = tag[m.role];
    if (t) out += `<|START_OF_TURN_TOKEN|>${t}${trim(m.content)}<|END_OF_TURN_TOKEN|>`;
  }
  return addAssistant ? `${out}<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>` : out;
};

const vicuna = (orca: boolean): Format => (messages, addAssistant) => {
  let out = "";
  for (const m of messages) {
    if (m.role === "system") out += orca ? `SYSTEM: ${m.content}\n` : `${m.content}\n\n`;
    else if (m.role === "user") out += `USER: ${m.content}\n`;
    else if (m.role === "assistant") out += `ASSISTANT: ${m.content}</s>\n`;
  }
  return addAssistant ? `${out}ASSISTANT:` : out;
};

const deepseek: Format = (messages, addAssistant) => {
  let out = "";
  for (const m of messages) {
    if (m.role === "system") out += m.content;
    else if (m.role === "user") out += `### Instruction:\n${m.content}\n`;
    else if (m.role === "assistant") out += `### Response:\n${m.content}\n<|EOT|>\n`;
  }
  return addAssistant ? `${out}### Response:\n` : out;
};

const deepseek2: Format = (messages, addAssistant) => {
  let out = "";
  for (const m of messages) {
    if (m.role === "system") out += `${m.content}\n\n`;
    else if (m.role === "user") out += `User: ${m.content}\n\n`;
    else if (m.role === "assistant") out += `Assistant: ${m.content}<\uff5cend\u2581of\u2581sentence\uff5c>`;
  }
  return addAssistant ? `${out}Assistant:` : out;
};

const deepseek3: Format = (messages, addAssistant) => {
  let out = "";
  for (const m of messages) {
    if (m.role === "system") out += `${m.content}\n\n`;
    else if (m.role === "user") out += `<\uff5cUser\uff5c>${m.content}`;
    else if (m.role === "assistant") out += `<\uff5cAssistant\uff5c>${m.content}<\uff5cend\u2581of\u2581sentence\uff5c>`;
  }
  return addAssistant ? `${out}<\uff5cAssistant\uff5c>` : out;
};

const openchat: Format = (messages, addAssistant) => {
  let out = "";
  for (const m of messages) {
    if (m.role === "system") out += `${m.content}<|end_of_turn|>`;
    else out += `GPT4 Correct ${m.role.charAt(0).toUpperCase()}${m.role.slice(1)}: ${m.content}<|end_of_turn|>`;
  }
  return addAssistant ? `${out}GPT4 Correct Assistant:` : out;
};

const orion: Format = (messages) => {
  let out = "";
  let system = "";
  for (const m of messages) {
    if (m.role === "system") system += m.content;
    else if (m.role === "user") {
      out += `Human: ${system ? `${system}\n\n` : ""}${m.content}\n\nAssistant: </s>`;
      system = "";
    } else out += `${m.content}</s>`;
  }
  return out;
};

const monarch: Format = (messages, addAssistant) => {
  let out = "";
  messages.forEach((m, i) => (out += `${i === 0 ? "" : "<s>"}${m.role}\n${m.content}</s>\n`));
  return addAssistant ? `${out}<s>assistant\n` : out;
};

const minicpm: Format = (messages) =>
  messages.map((m) => (m.role === "user" ? `<\u7528\u6237>${trim(m.content)}<AI>` : trim(m.content))).join("");

const chatglm = (prefix: string, sep: string, assistant: string): Format => (messages, addAssistant) => {
  let out = prefix;
  for (const m of messages) out += `<|${m.role}|>${sep}${m.content}`;
  return addAssistant ? `${out}${assistant}` : out;
};

const BUILTIN: Record<string, Format> = {
  chatml: perRole("<|im_start|>", "\n", "<|im_end|>\n"),
  llama2: llama2({ system: false, bosInHistory: false, strip: false }),
  "llama2-sys": llama2({ system: true, bosInHistory: false, strip: false }),
  "llama2-sys-bos": llama2({ system: true, bosInHistory: true, strip: false }),
  "llama2-sys-strip": llama2({ system: true, bosInHistory: false, strip: true }),
  "mistral-v1": mistral("v1"),
  "mistral-v3": mistral("v3"),
  "mistral-v3-tekken": mistral("v3-tekken"),
  "mistral-v7": mistral7(false),
  "mistral-v7-tekken": mistral7(true),
  phi3: (messages, add) => perRole("<|", "|>\n", "<|end|>\n")(messages, false) + (add ? "<|assistant|>\n" : ""),
  phi4: perRole("<|im_start|>", "<|im_sep|>", "<|im_end|>"),
  falcon3: (messages, add) => messages.map((m) => `<|${m.role}|>\n${m.content}\n`).join("") + (add ? "<|assistant|>\n" : ""),
  zephyr: (messages, add) => messages.map((m) => `<|${m.role}|>\n${m.content}<|endoftext|>\n`).join("") + (add ? "<|assistant|>\n" : ""),
  monarch,
  gemma,
  orion,
  openchat,
  vicuna: vicuna(false),
  "vicuna-orca": vicuna(true),
  deepseek,
  deepseek2,
  deepseek3,
  "command-r": commandR,
  llama3: perRole("<|start_header_id|>", "<|end_header_id|>\n\n", "<|eot_id|>", { trimContent: true }),
  llama4: perRole("<|header_start|>", "<|header_end|>\n\n", "<|eot|>", { trimContent: true }),
  chatglm3: chatglm("[gMASK]sop", "\n ", "<|assistant|>"),
  chatglm4: chatglm("[gMASK]<sop>", "\n", "<|assistant|>\n"),
  glmedge: chatglm("", "\n", "<|assistant|>"),
  minicpm,
  granite: perRole("<|start_of_role|>", "<|end_of_role|>", "<|end_of_text|>\n"),
};

/** The built-in format of this name, if there is one. */
export function builtinFormat(name: string): Format | undefined {
  return Object.hasOwn(BUILTIN, name) ? BUILTIN[name] : undefined;
}

export const BUILTIN_TEMPLATE_NAMES: readonly string[] = Object.keys(BUILTIN);
