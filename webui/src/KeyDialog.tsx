import { useEffect, useRef, useState, type FormEvent } from "react";
import { getApiKey, setApiKey } from "./api";

/**
 * Asks for the server's API key (it was started with --api-key and answered 401). The key is kept in this
 * browser's storage and sent with every request; "Forget" removes it.
 */
export function KeyDialog({ rejected, onClose }: { rejected: boolean; onClose(saved: boolean): void }) {
  const [key, setKey] = useState(getApiKey());
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const had = getApiKey() !== "";

  const save = (e: FormEvent) => {
    e.preventDefault();
    setApiKey(key.trim());
    onClose(true);
  };

  return (
    <div className="overlay" onKeyDown={(e) => e.key === "Escape" && onClose(false)}>
      <form className="dialog" role="dialog" aria-modal="true" aria-labelledby="key-title" onSubmit={save}>
        <h2 id="key-title">API key</h2>
        <p className="muted">
          {rejected
            ? had
              ? "The server refused the key this browser has. Enter the right one."
              : "This server needs an API key (it was started with --api-key)."
            : "The key sent with every request. It is kept in this browser only."}
        </p>
        <input
          ref={input}
          type="password"
          autoComplete="off"
          aria-label="API key"
          placeholder="API key"
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
        <div className="dialog-actions">
          {had && (
            <button
              type="button"
              onClick={() => {
                setApiKey("");
                onClose(true);
              }}
            >
              Forget
            </button>
          )}
          <button type="button" onClick={() => onClose(false)}>Cancel</button>
          <button type="submit" className="primary" disabled={key.trim() === ""}>Save</button>
        </div>
      </form>
    </div>
  );
}
