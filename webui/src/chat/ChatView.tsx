// The chat: conversations kept in the browser, one model or two side by side (compare mode), answers streamed in.
// Picking a model needs no separate load step: the request loads it, and its status (live from the shell's
// /models/sse) shows the load's progress meanwhile.
import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from "react";
import { statusWord, type ModelInfo } from "../api";
import { Markdown } from "./Markdown";
import { chatState, isBusy, useChat } from "./state";
import type { Answer, Conversation, Settings } from "./store";
import type { StreamStats } from "./stream";
import "./chat.css";

export function ChatView({ models }: { models: ModelInfo[] }) {
  const { conversations, currentId } = useChat();
  const conv = conversations.find((c) => c.id === currentId)!;
  const [sideOpen, setSideOpen] = useState(false);
  const [showSettings, setShowSettings] = useState(false);
  const [draft, setDraft] = useState("");
  const input = useRef<HTMLTextAreaElement>(null);
  const state = chatState();

  const modelA = resolveModel(models, conv.models[0]);
  const modelB = resolveModel(models, conv.models[1], modelA);
  const lanes = conv.compare ? [modelA, modelB] : [modelA];
  const busy = isBusy(conv);
  const ready = lanes.every((m) => m !== "");

  const send = () => {
    if (busy || !ready || !draft.trim()) return;
    // what was shown is what is sent: a default pick becomes the conversation's own
    if (conv.models[0] !== modelA || conv.models[1] !== modelB) state.update(conv.id, { models: [modelA, modelB] });
    state.send(conv.id, draft, lanes);
    setDraft("");
  };

  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    // Enter sends, Shift+Enter is a new line; an Enter that ends an IME composition is neither
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const switchTo = (id: string) => {
    state.select(id);
    setSideOpen(false);
    setDraft("");
  };

  return (
    <div className="chat">
      <aside className={sideOpen ? "chat-side open" : "chat-side"}>
        <div className="chat-side-head">
          <button className="chat-new" onClick={() => { state.newChat(); setSideOpen(false); input.current?.focus(); }}>
            + New chat
          </button>
          <button className="chat-side-toggle" onClick={() => setSideOpen(!sideOpen)} aria-expanded={sideOpen}>
            Chats ({conversations.length}) {sideOpen ? "▴" : "▾"}
          </button>
        </div>
        <ul className="chat-list">
          {conversations.map((c) => (
            <li key={c.id} className={c.id === currentId ? "active" : ""}>
              <button className="chat-pick" onClick={() => switchTo(c.id)} title={c.title || "New chat"}>
                {c.compare && <span className="chat-tag">A/B</span>}
                {c.title || "New chat"}
              </button>
              <button className="chat-del" onClick={() => state.remove(c.id)} aria-label={`Delete ${c.title || "chat"}`} title="Delete">
                ×
              </button>
            </li>
          ))}
        </ul>
      </aside>

      <section className="chat-main">
        <div className="chat-toolbar">
          <ModelPicker label={conv.compare ? "A" : "Model"} lane={0} models={models} value={modelA}
            onChange={(m) => state.update(conv.id, { models: [m, conv.models[1]] })} />
          {conv.compare && (
            <ModelPicker label="B" lane={1} models={models} value={modelB}
              onChange={(m) => state.update(conv.id, { models: [conv.models[0] || modelA, m] })} />
          )}
          <label className="chat-check">
            <input type="checkbox" className="chat-compare" checked={conv.compare}
              onChange={(e) => state.update(conv.id, { compare: e.target.checked })} />
            Compare
          </label>
          <button className={showSettings ? "chat-settings-btn on" : "chat-settings-btn"} onClick={() => setShowSettings(!showSettings)}
            aria-expanded={showSettings}>
            Settings
          </button>
        </div>
        {showSettings && <SettingsPanel settings={conv.settings} onChange={(s) => state.update(conv.id, { settings: s })} />}
        <div className="chat-status">
          {lanes.map((id, lane) => <ModelState key={lane} lane={lane} compare={conv.compare} info={models.find((m) => m.id === id)} />)}
        </div>

        {conv.compare ? (
          // one pane per model, each scrolling on its own, so that both answers stay in sight as they grow
          <div className="chat-panes">
            <Transcript conv={conv} models={models} lane={0} />
            <Transcript conv={conv} models={models} lane={1} />
          </div>
        ) : (
          <Transcript conv={conv} models={models} />
        )}

        <div className="chat-composer">
          <textarea ref={input} className="chat-input" rows={2} value={draft} onChange={(e) => setDraft(e.target.value)} onKeyDown={onKey}
            placeholder={ready ? "Message… (Enter sends, Shift+Enter for a new line)" : "No model to chat with yet"} />
          {busy ? (
            <button className="chat-stop-all danger" onClick={() => state.stopAll(conv.id)}>Stop</button>
          ) : (
            <button className="chat-send primary" onClick={send} disabled={!ready || !draft.trim()}>Send</button>
          )}
        </div>
        {!busy && conv.turns.length > 0 && (
          <div className="chat-after">
            <button onClick={() => state.regenerate(conv.id)}>Regenerate</button>
            <button onClick={() => {
              const text = state.takeBackLast(conv.id);
              if (text !== undefined) {
                setDraft(text);
                input.current?.focus();
              }
            }}>Edit last</button>
          </div>
        )}
      </section>
    </div>
  );
}

/** The conversation's model if the server still has it, else a default: a loaded model first, as it answers at once. */
function resolveModel(models: ModelInfo[], wanted: string, avoid?: string): string {
  const usable = models.filter((m) => m.status.value !== "downloading");
  if (wanted && usable.some((m) => m.id === wanted)) return wanted;
  const others = usable.filter((m) => m.id !== avoid);
  const pool = others.length > 0 ? others : usable;
  return (pool.find((m) => m.status.value === "loaded") ?? pool[0])?.id ?? "";
}

function ModelPicker(props: { label: string; lane: number; models: ModelInfo[]; value: string; onChange(id: string): void }) {
  return (
    <label className="chat-model">
      <span>{props.label}</span>
      <select data-lane={props.lane} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {props.models.length === 0 && <option value="">(no models)</option>}
        {props.models.map((m) => (
          <option key={m.id} value={m.id} disabled={m.status.value === "downloading"}>
            {m.id}{m.status.value === "loaded" ? " ●" : ""}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The chosen model's status: loaded or not, a load's progress, why the last load failed. */
function ModelState({ info, lane, compare }: { info: ModelInfo | undefined; lane: number; compare: boolean }) {
  if (!info) return null;
  const s = info.status;
  const word = statusWord(info);
  const failed = word === "failed";
  return (
    <div className={`chat-model-state ${s.value}${failed ? " failed" : ""}`} data-lane={lane}>
      {compare && <b>{lane === 0 ? "A" : "B"}</b>}
      <span className="dot" />
      <span className="chat-model-id">{info.id}</span>
      <span className="chat-model-value">{word}</span>
      {s.value === "loading" && <Progress value={s.progress} />}
      {s.value === "unloaded" && !failed && <span className="muted">loads on the first message</span>}
      {failed && s.error && <span className="chat-error-inline">{s.error}</span>}
    </div>
  );
}

function Progress({ value }: { value: number | undefined }) {
  const pct = value === undefined ? undefined : Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <span className="chat-progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
      <span className="track">
        <span className={pct === undefined ? "bar indeterminate" : "bar"} style={pct === undefined ? undefined : { width: `${pct}%` }} />
      </span>
      {pct !== undefined && <span className="pct">{pct}%</span>}
    </span>
  );
}

function SettingsPanel({ settings, onChange }: { settings: Settings; onChange(s: Settings): void }) {
  const num = (v: string): number | null => (v.trim() === "" || !Number.isFinite(Number(v)) ? null : Number(v));
  return (
    <div className="chat-settings">
      <label className="wide">
        System prompt
        <textarea rows={2} value={settings.system} onChange={(e) => onChange({ ...settings, system: e.target.value })}
          placeholder="(none)" className="chat-system" />
      </label>
      <label>
        Temperature
        <input type="number" min={0} max={2} step={0.1} className="chat-temp" placeholder="server default"
          value={settings.temperature ?? ""} onChange={(e) => onChange({ ...settings, temperature: num(e.target.value) })} />
      </label>
      <label>
        Max tokens
        <input type="number" min={1} step={1} className="chat-max" placeholder="no limit"
          value={settings.maxTokens ?? ""} onChange={(e) => onChange({ ...settings, maxTokens: num(e.target.value) })} />
      </label>
    </div>
  );
}

/**
 * The conversation's turns. With `lane`, one compare pane: every prompt with that model's answer (a turn from before
 * compare mode was on has one answer, the past of both panes). Without, every answer of a turn, side by side.
 */
function Transcript({ conv, models, lane }: { conv: Conversation; models: ModelInfo[]; lane?: number }) {
  const box = useRef<HTMLDivElement>(null);
  // Follows the answer as it grows, unless the user scrolled up to read something.
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  });
  useEffect(() => {
    stick.current = true;
  }, [conv.id]);
  const answer = (turn: number, i: number) => {
    const a = conv.turns[turn]!.answers[i]!;
    return (
      <AnswerView key={i} answer={a} lane={i} compare={conv.turns[turn]!.answers.length > 1}
        info={models.find((m) => m.id === a.model)} onStop={() => chatState().stop(conv.id, turn, i)} />
    );
  };
  return (
    <div className="chat-transcript" ref={box} data-pane={lane}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}>
      {conv.turns.length === 0 && lane !== 1 && (
        <p className="chat-empty">
          {conv.compare ? "One prompt, two models side by side: pick A and B above." : "Pick a model and say something. It loads on the first message."}
        </p>
      )}
      {conv.turns.map((turn, i) => (
        <div className="chat-turn" key={i}>
          <div className="chat-user">{turn.user}</div>
          {lane !== undefined ? (
            <div className="chat-answers">{answer(i, turn.answers[lane] ? lane : 0)}</div>
          ) : (
            <div className={turn.answers.length > 1 ? "chat-answers two" : "chat-answers"}>{turn.answers.map((_, j) => answer(i, j))}</div>
          )}
        </div>
      ))}
    </div>
  );
}

function AnswerView(props: { answer: Answer; lane: number; compare: boolean; info: ModelInfo | undefined; onStop(): void }) {
  const { answer: a, info } = props;
  const waiting = a.pending && !a.content && !a.reasoning;
  return (
    <div className={`chat-answer${a.pending ? " pending" : ""}${a.error ? " failed" : ""}`} data-lane={props.lane} data-model={a.model}>
      <div className="chat-answer-head">
        <span className="chat-answer-model">{props.compare && <b>{props.lane === 0 ? "A " : "B "}</b>}{a.model}</span>
        {a.pending && <button className="chat-stop" onClick={props.onStop}>Stop</button>}
      </div>
      {waiting && <Waiting info={info} />}
      {a.reasoning && (
        <details className="chat-reasoning">
          <summary>Reasoning{a.pending && !a.content ? "…" : ""}</summary>
          <div className="chat-reasoning-text">{a.reasoning}</div>
        </details>
      )}
      {a.content && <div className="chat-answer-text"><Markdown text={a.content} /></div>}
      {a.error && <div className="chat-error" role="alert">{a.error}</div>}
      {!a.pending && (a.stats || a.stopped) && <Stats stats={a.stats} stopped={a.stopped} />}
    </div>
  );
}

/** Before the first token: a model that is loading says how far it got, so a slow first answer is explained. */
function Waiting({ info }: { info: ModelInfo | undefined }) {
  const s = info?.status.value;
  if (s === "loading") {
    return <div className="chat-waiting chat-loading">Loading {info!.id}… <Progress value={info!.status.progress} /></div>;
  }
  if (s === "unloaded" || s === "unloading") return <div className="chat-waiting">Starting {info!.id}…</div>;
  return <div className="chat-waiting">{info?.waiting ? "Waiting in the queue…" : "Thinking…"}</div>;
}

function Stats({ stats, stopped }: { stats: StreamStats | undefined; stopped: boolean | undefined }) {
  const parts: string[] = [];
  if (stopped) parts.push("stopped");
  if (stats?.completionTokens !== undefined) parts.push(`${stats.completionTokens} tokens`);
  if (stats?.tokensPerSecond !== undefined) parts.push(`${stats.tokensPerSecond.toFixed(1)} tok/s`);
  if (stats?.promptTokens !== undefined) parts.push(`prompt ${stats.promptTokens}`);
  if (stats?.firstTokenMs !== undefined) parts.push(`first token ${formatMs(stats.firstTokenMs)}`);
  if (stats?.finishReason === "length") parts.push("hit max tokens");
  return <div className="chat-stats">{parts.join(" · ")}</div>;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
