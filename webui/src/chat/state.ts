// The chat's state lives outside React, for the page's lifetime: an answer goes on streaming (and is kept) while the
// user looks at the Models or Logs view, which unmounts the chat view. Components read it with useSyncExternalStore.
import { useSyncExternalStore } from "react";
import { HttpError } from "../api";
import {
  loadConversations, loadCurrentId, newConversation, saveConversations, saveCurrentId, titleFrom,
  type Answer, type Conversation, type Turn,
} from "./store";
import { streamChat, type ChatMessage } from "./stream";

export interface ChatSnapshot {
  conversations: Conversation[];
  currentId: string;
}

type Listener = () => void;

const answerKey = (convId: string, turn: number, lane: number) => `${convId}/${turn}/${lane}`;

/** The messages one lane (one model's column) sends: its own earlier answers, never the other model's. */
function historyFor(conv: Conversation, lane: number, upTo: number): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (conv.settings.system.trim()) out.push({ role: "system", content: conv.settings.system });
  for (const turn of conv.turns.slice(0, upTo)) {
    // A turn from before compare mode was switched on has one answer: both lanes take it as their past.
    const answer = turn.answers[lane] ?? turn.answers[0];
    // A turn that got no answer (an error, an early stop) would leave two user messages in a row, which many chat
    // templates refuse: it is left out.
    if (!answer?.content) continue;
    out.push({ role: "user", content: turn.user }, { role: "assistant", content: answer.content });
  }
  return out;
}

class ChatState {
  private snapshot: ChatSnapshot;
  private readonly listeners = new Set<Listener>();
  private readonly controllers = new Map<string, AbortController>();
  /** Deltas not yet shown: tokens can come faster than frames, and each render re-parses an answer's Markdown. */
  private readonly deltas = new Map<string, { content: string; reasoning: string }>();
  private frame: number | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const conversations = loadConversations();
    const stored = loadCurrentId();
    let current = conversations.find((c) => c.id === stored) ?? conversations[0];
    if (!current) {
      current = newConversation();
      conversations.push(current);
    }
    this.snapshot = { conversations, currentId: current.id };
    window.addEventListener("pagehide", () => this.saveNow());
  }

  subscribe = (fn: Listener): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): ChatSnapshot => this.snapshot;

  current(): Conversation {
    return this.find(this.snapshot.currentId)!;
  }

  private find(id: string): Conversation | undefined {
    return this.snapshot.conversations.find((c) => c.id === id);
  }

  private set(next: ChatSnapshot): void {
    this.snapshot = next;
    for (const fn of this.listeners) fn();
    // At most one write every half second while answers stream; the last state is written when the timer fires.
    this.saveTimer ??= setTimeout(() => this.saveNow(), 500);
  }

  private saveNow(): void {
    this.flushDeltas(false);
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    saveConversations(this.snapshot.conversations);
    saveCurrentId(this.snapshot.currentId);
  }

  private mapConv(id: string, fn: (c: Conversation) => Conversation): void {
    this.set({ ...this.snapshot, conversations: this.snapshot.conversations.map((c) => (c.id === id ? fn(c) : c)) });
  }

  update(id: string, patch: Partial<Pick<Conversation, "compare" | "models" | "settings">>): void {
    this.mapConv(id, (c) => ({ ...c, ...patch }));
  }

  select(id: string): void {
    if (this.snapshot.conversations.some((c) => c.id === id)) this.set({ ...this.snapshot, currentId: id });
  }

  /** Starts a conversation with the current one's models and settings (or reuses the current one while it is empty). */
  newChat(): void {
    const cur = this.current();
    if (cur.turns.length === 0) return;
    const conv = newConversation(cur);
    this.set({ conversations: [conv, ...this.snapshot.conversations], currentId: conv.id });
  }

  remove(id: string): void {
    this.stopAll(id);
    let conversations = this.snapshot.conversations.filter((c) => c.id !== id);
    const gone = this.find(id);
    if (conversations.length === 0) conversations = [newConversation(gone)];
    const currentId = this.snapshot.currentId === id ? conversations[0]!.id : this.snapshot.currentId;
    this.set({ conversations, currentId });
  }

  /** Sends `text` to the conversation's model, or to both of its models in compare mode, all streaming at once. */
  send(id: string, text: string, models: string[]): void {
    const conv = this.find(id);
    if (!conv || !text.trim() || isBusy(conv)) return;
    const turn: Turn = { user: text, answers: models.map((model) => ({ model, content: "", pending: true })) };
    const next: Conversation = {
      ...conv,
      title: conv.title || titleFrom(text),
      updated: Date.now(),
      turns: [...conv.turns, turn],
    };
    this.mapConv(id, () => next);
    models.forEach((_, lane) => this.run(next, next.turns.length - 1, lane));
  }

  /** Asks the last turn's models again. */
  regenerate(id: string): void {
    const conv = this.find(id);
    const last = conv?.turns.at(-1);
    if (!conv || !last || isBusy(conv)) return;
    const turns = [...conv.turns.slice(0, -1), { ...last, answers: last.answers.map((a) => ({ model: a.model, content: "", pending: true })) }];
    const next = { ...conv, turns, updated: Date.now() };
    this.mapConv(id, () => next);
    last.answers.forEach((_, lane) => this.run(next, turns.length - 1, lane));
  }

  /** Takes the last turn back, returning its prompt for the composer to edit. */
  takeBackLast(id: string): string | undefined {
    const conv = this.find(id);
    const last = conv?.turns.at(-1);
    if (!conv || !last || isBusy(conv)) return undefined;
    this.mapConv(id, (c) => ({ ...c, turns: c.turns.slice(0, -1), title: c.turns.length > 1 ? c.title : "" }));
    return last.user;
  }

  stop(convId: string, turn: number, lane: number): void {
    this.controllers.get(answerKey(convId, turn, lane))?.abort();
  }

  stopAll(convId: string): void {
    for (const [key, ctl] of this.controllers) if (key.startsWith(`${convId}/`)) ctl.abort();
  }

  private run(conv: Conversation, turn: number, lane: number): void {
    const key = answerKey(conv.id, turn, lane);
    const ctl = new AbortController();
    this.controllers.set(key, ctl);
    const { model } = conv.turns[turn]!.answers[lane]!;
    const messages = [...historyFor(conv, lane, turn), { role: "user" as const, content: conv.turns[turn]!.user }];
    const { temperature, maxTokens } = conv.settings;
    const delta = (field: "content" | "reasoning", text: string) => {
      const d = this.deltas.get(key) ?? { content: "", reasoning: "" };
      d[field] += text;
      this.deltas.set(key, d);
      this.frame ??= requestAnimationFrame(() => this.flushDeltas(true));
    };
    streamChat(
      { model, messages, ...(temperature !== null ? { temperature } : {}), ...(maxTokens !== null ? { max_tokens: maxTokens } : {}) },
      { onContent: (t) => delta("content", t), onReasoning: (t) => delta("reasoning", t) },
      ctl.signal,
    ).then(
      (stats) => this.finish(key, conv.id, turn, lane, { pending: false, stats }),
      (err: unknown) => {
        if (ctl.signal.aborted) this.finish(key, conv.id, turn, lane, { pending: false, stopped: true });
        else this.finish(key, conv.id, turn, lane, { pending: false, error: errorText(err) });
      },
    );
  }

  private finish(key: string, convId: string, turn: number, lane: number, patch: Partial<Answer>): void {
    this.controllers.delete(key);
    // the last deltas first, so that nothing that arrived is lost to the final update
    this.flushDeltas(false);
    this.mapConv(convId, (c) => patchAnswer(c, turn, lane, patch));
  }

  private flushDeltas(fromFrame: boolean): void {
    if (!fromFrame && this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    if (this.deltas.size === 0) return;
    const pending = new Map(this.deltas);
    this.deltas.clear();
    const conversations = this.snapshot.conversations.map((c) => {
      let out = c;
      for (const [key, d] of pending) {
        const [convId, turn, lane] = key.split("/");
        if (convId !== c.id) continue;
        const a = out.turns[Number(turn)]?.answers[Number(lane)];
        if (!a) continue;
        out = patchAnswer(out, Number(turn), Number(lane), {
          content: a.content + d.content,
          ...(d.reasoning ? { reasoning: (a.reasoning ?? "") + d.reasoning } : {}),
        });
      }
      return out;
    });
    this.set({ ...this.snapshot, conversations });
  }
}

function patchAnswer(c: Conversation, turn: number, lane: number, patch: Partial<Answer>): Conversation {
  const t = c.turns[turn];
  if (!t?.answers[lane]) return c;
  const answers = t.answers.map((a, i) => (i === lane ? { ...a, ...patch } : a));
  return { ...c, turns: c.turns.map((x, i) => (i === turn ? { ...t, answers } : x)) };
}

export function isBusy(conv: Conversation): boolean {
  return conv.turns.some((t) => t.answers.some((a) => a.pending));
}

function errorText(err: unknown): string {
  if (err instanceof HttpError) return `${err.status}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

let state: ChatState | undefined;
export function chatState(): ChatState {
  return (state ??= new ChatState());
}

export function useChat(): ChatSnapshot {
  const s = chatState();
  return useSyncExternalStore(s.subscribe, s.getSnapshot);
}
