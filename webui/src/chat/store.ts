// Conversations, kept in the browser's localStorage so they survive a reload; nothing of them goes to the server
// beyond the requests themselves.
import type { StreamStats } from "./stream";

/** One model's answer to a turn; a compare turn has two, side by side. */
export interface Answer {
  model: string;
  content: string;
  reasoning?: string;
  stats?: StreamStats;
  error?: string;
  /** Stopped by the user (or by a reload) before the model finished: the text is partial. */
  stopped?: boolean;
  /** Still streaming. */
  pending?: boolean;
}

export interface Turn {
  user: string;
  answers: Answer[];
}

export interface Settings {
  system: string;
  /** null: the server's own default. */
  temperature: number | null;
  maxTokens: number | null;
}

export interface Conversation {
  id: string;
  title: string;
  created: number;
  updated: number;
  compare: boolean;
  /** The model of the single chat, or the two of compare mode. */
  models: [string, string];
  settings: Settings;
  turns: Turn[];
}

const KEY = "corral.chat.conversations";
const CURRENT_KEY = "corral.chat.current";
const VERSION = 1;

const DEFAULT_SETTINGS: Settings = { system: "", temperature: null, maxTokens: 512 };

export function newConversation(from?: Conversation): Conversation {
  const now = Date.now();
  return {
    id: `${now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    title: "",
    created: now,
    updated: now,
    compare: from?.compare ?? false,
    models: from ? [...from.models] : ["", ""],
    settings: from ? { ...from.settings } : { ...DEFAULT_SETTINGS },
    turns: [],
  };
}

export function titleFrom(text: string): string {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > 48 ? `${line.slice(0, 47)}…` : line;
}

export function loadConversations(): Conversation[] {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return [];
    const stored = JSON.parse(raw) as { version?: number; conversations?: Conversation[] };
    if (stored.version !== VERSION || !Array.isArray(stored.conversations)) return [];
    // A stream cut off by the reload will never finish: what came before it is kept, marked as stopped.
    return stored.conversations.map((c) => ({
      ...c,
      turns: c.turns.map((t) => ({ ...t, answers: t.answers.map((a) => (a.pending ? { ...a, pending: false, stopped: true } : a)) })),
    }));
  } catch {
    return []; // unreadable storage: start afresh rather than fail the page
  }
}

export function saveConversations(conversations: Conversation[]): void {
  try {
    localStorage.setItem(KEY, JSON.stringify({ version: VERSION, conversations }));
  } catch {
    // storage full or refused (private windows): the chat still works, it just will not survive a reload
  }
}

export function loadCurrentId(): string | null {
  return localStorage.getItem(CURRENT_KEY);
}

export function saveCurrentId(id: string | null): void {
  if (id) localStorage.setItem(CURRENT_KEY, id);
  else localStorage.removeItem(CURRENT_KEY);
}
