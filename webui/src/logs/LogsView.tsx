import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { apiFetch, statusWord, type ModelInfo } from "../api";

const POLL_MS = 1000;

interface Props {
  models: ModelInfo[];
  /** The model shown; undefined picks one (the first running, else the first). */
  model: string | undefined;
  onSelect(model: string): void;
}

/**
 * A model process's output (GET /models/logs, its last ~64 KB), read again every second: there is no log stream.
 * It stays scrolled to the end while the reader is there, and stops following once they scroll up to read.
 */
export function LogsView({ models, model, onSelect }: Props) {
  const choices = models.filter((m) => m.status.value !== "downloading");
  const running = choices.find((m) => m.status.value === "loaded" || m.status.value === "loading");
  const current = model !== undefined && choices.some((m) => m.id === model) ? model : (running ?? choices[0])?.id;
  const [text, setText] = useState<string>();
  const [error, setError] = useState<string>();
  const [follow, setFollow] = useState(true);
  const pre = useRef<HTMLPreElement>(null);

  useEffect(() => {
    if (current === undefined) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setText(undefined);
    setError(undefined);
    setFollow(true);
    const tick = async () => {
      try {
        const res = await apiFetch(`/models/logs?model=${encodeURIComponent(current)}`);
        const body = await res.text();
        if (stop) return;
        // an unchanged log keeps its node, so that selecting text in it is not undone every second
        setText((old) => (old === body ? old : body));
        setError(undefined);
      } catch (err) {
        if (!stop) setError((err as Error).message);
      }
      if (!stop) timer = setTimeout(tick, POLL_MS);
    };
    void tick();
    return () => {
      stop = true;
      if (timer) clearTimeout(timer);
    };
  }, [current]);

  useLayoutEffect(() => {
    const el = pre.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [text, follow]);

  const onScroll = () => {
    const el = pre.current;
    if (!el) return;
    const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 24;
    if (atEnd !== follow) setFollow(atEnd);
  };

  const empty = text !== undefined && text.trim() === "";
  return (
    <section className="logs">
      <div className="toolbar">
        <label className="logs-pick">
          <span>Model</span>
          <select value={current ?? ""} onChange={(e) => onSelect(e.target.value)} aria-label="Model whose logs are shown">
            {choices.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id} ({statusWord(m)})
              </option>
            ))}
          </select>
        </label>
        {!follow && (
          <button className="follow" onClick={() => setFollow(true)}>
            Follow ↓
          </button>
        )}
      </div>
      {error && <p className="error">{error}</p>}
      {current === undefined && <p className="muted">No models.</p>}
      {empty && <p className="muted">No output yet: the model has not run since the router started.</p>}
      <pre className="log" ref={pre} onScroll={onScroll} data-testid="log" hidden={empty || text === undefined}>
        {text}
      </pre>
    </section>
  );
}
