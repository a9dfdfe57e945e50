import { useMemo, useState, type FormEvent } from "react";
import { apiJson, statusWord, type DownloadProgress, type ModelInfo } from "../api";
import { Fact } from "../Fact";
import { formatAgo, formatBytes, formatCount, formatDuration } from "../format";
import { useNow } from "../useNow";
import { ModelActions } from "./ModelActions";
import { NodeBadges } from "./NodeBadges";
import { refreshModels, type ServerMode } from "./store";
import { useModelsState } from "./useModels";

interface Props {
  models: ModelInfo[];
  mode: ServerMode | undefined;
  onShowLogs(model: string): void;
}

export function ModelsView({ models, mode, onShowLogs }: Props) {
  const [query, setQuery] = useState("");
  const router = mode === "router";
  const shown = useMemo(() => filterModels(models, query), [models, query]);
  const loaded = models.filter((m) => m.status.value === "loaded").length;
  // "last used 5 s ago" keeps counting between two reads of the list
  const now = useNow(5000);
  const { error } = useModelsState();

  return (
    <section className="models">
      <div className="toolbar">
        <input
          type="search"
          className="search"
          placeholder="Search models"
          aria-label="Search models"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <span className="muted summary">
          {models.length} model{models.length === 1 ? "" : "s"}, {loaded} loaded
        </span>
      </div>
      {router && <DownloadBox />}
      {mode === "single" && (
        <p className="muted note">
          This server runs one model (<code>corral -m</code>). Start corral without <code>-m</code> to route to many
          models, load and unload them here, and read their logs.
        </p>
      )}
      {error && models.length === 0 && <p className="error">Cannot read the model list: {error}</p>}
      {shown.length === 0 && models.length > 0 && <p className="muted">No model matches “{query}”.</p>}
      <ul className="model-list">
        {shown.map((m) => (
          <ModelCard key={m.id} model={m} router={router} now={now} onShowLogs={onShowLogs} />
        ))}
      </ul>
    </section>
  );
}

function filterModels(models: ModelInfo[], query: string): ModelInfo[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return models;
  return models.filter((m) => {
    const nodes = (m.nodes ?? []).map((n) => n.name);
    const hay = [m.id, ...(m.aliases ?? []), ...(m.tags ?? []), m.engine ?? "", m.source ?? "", statusWord(m), ...nodes].join(" ").toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

function ModelCard({ model: m, router, now, onShowLogs }: { model: ModelInfo; router: boolean; now: number; onShowLogs(id: string): void }) {
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string>();
  const st = m.status.value;
  const word = statusWord(m);
  const downloading = st === "downloading";

  const act = async (path: string, body: Record<string, unknown>) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await apiJson(path, body);
      await refreshModels();
    } catch (err) {
      setActionError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const size = m.size_bytes ?? m.meta?.size;
  const nCtx = m.n_ctx ?? m.meta?.n_ctx;
  const nParams = m.n_params ?? m.meta?.n_params;
  const est = m.memory?.estimate;
  const meas = m.memory?.measured;
  const percent = m.status.progress !== undefined ? Math.round(m.status.progress * 100) : undefined;

  return (
    <li className={`model status-${word}`} data-model={m.id} data-status={st}>
      <div className="model-head">
        <div className="model-name">
          <span className="model-id">{m.id}</span>
          {m.pinned && <span className="chip" title="never evicted to make room">pinned</span>}
          {(m.aliases ?? []).filter((a) => a !== m.id).map((a) => (
            <span key={a} className="chip alias">{a}</span>
          ))}
        </div>
        <span className={`badge badge-${word}`} data-testid="status">
          {word}
          {percent !== undefined && (st === "loading" || downloading) ? ` ${percent}%` : ""}
        </span>
        {router && !downloading && <ModelActions model={m} busy={busy} act={(path, body) => void act(path, body)} onShowLogs={onShowLogs} />}
      </div>
      <NodeBadges nodes={m.nodes} />
      {(st === "loading" || downloading) && <ProgressBar fraction={m.status.progress} label={downloading ? "download" : "load"} />}
      {downloading && m.status.download && <DownloadLine d={m.status.download} />}
      <dl className="facts">
        {m.engine && <Fact k="engine" v={m.engine} />}
        {m.source && <Fact k="source" v={m.source} />}
        <Fact k="size" v={formatBytes(size)} />
        {nParams !== undefined && <Fact k="params" v={formatCount(nParams)} />}
        {nCtx !== undefined && <Fact k="context" v={String(nCtx)} />}
        {(est || meas) && <Fact k="memory" v={[est && `${formatBytes(est.ram + est.vram)} est.`, meas && `${formatBytes(meas.ram + meas.vram)} used`].filter(Boolean).join(" / ")} />}
        {m.in_flight !== undefined && !downloading && <Fact k="in flight" v={`${m.in_flight}${m.waiting ? `, ${m.waiting} waiting` : ""}`} />}
        {router && !downloading && <Fact k="last used" v={formatAgo(m.last_used, now)} />}
        {router && !downloading && <Fact k="ttl" v={m.ttl !== undefined ? formatDuration(m.ttl) : "none"} />}
        {m.pid !== undefined && <Fact k="pid" v={String(m.pid)} />}
      </dl>
      {m.status.failed && (
        <p className="error failure" data-testid="failure">
          {m.status.exit_code !== undefined && m.status.exit_code !== null ? `exit code ${m.status.exit_code}: ` : ""}
          {m.status.error || "failed"}
        </p>
      )}
      {actionError && <p className="error" role="alert">{actionError}</p>}
    </li>
  );
}

function ProgressBar({ fraction, label }: { fraction: number | undefined; label: string }) {
  const known = fraction !== undefined && Number.isFinite(fraction);
  return (
    <div
      className={known ? "bar" : "bar indeterminate"}
      role="progressbar"
      aria-label={`${label} progress`}
      aria-valuemin={0}
      aria-valuemax={100}
      {...(known ? { "aria-valuenow": Math.round(fraction * 100) } : {})}
    >
      <div className="bar-fill" style={known ? { width: `${Math.min(100, Math.max(0, fraction * 100))}%` } : undefined} />
    </div>
  );
}

function DownloadLine({ d }: { d: DownloadProgress }) {
  return (
    <p className="muted download-line">
      {formatBytes(d.done)} of {formatBytes(d.total)}
      {d.rate > 0 ? `, ${formatBytes(d.rate)}/s` : ""}
      {d.eta_s !== undefined ? `, ${formatDuration(d.eta_s)} left` : ""}
      {d.file ? ` · ${d.file}` : ""}
    </p>
  );
}

/** POST /models {"model": "owner/repo:QUANT"}: 202 downloading, 200 already cached, 4xx with the reason. */
function DownloadBox() {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string; model: string }>();
  const { failedDownloads } = useModelsState();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const model = name.trim();
    if (!model) return;
    setBusy(true);
    setMessage(undefined);
    try {
      const body = await apiJson<{ model?: string; status?: string }>("/models", { model });
      setMessage(
        body.status === "cached"
          ? { ok: true, text: `${body.model ?? model} is already downloaded.`, model }
          : { ok: true, text: `Downloading ${body.model ?? model}: its progress shows in the list below.`, model },
      );
      setName("");
      await refreshModels();
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message, model });
    } finally {
      setBusy(false);
    }
  };

  // a download refused before it started is this form's answer already
  const failed = Object.entries(failedDownloads).filter(([n]) => !(message && !message.ok && message.model.toLowerCase() === n.toLowerCase()));
  return (
    <form className="download" onSubmit={submit}>
      <input
        placeholder="owner/repo:QUANT from Hugging Face"
        aria-label="Model to download"
        value={name}
        onChange={(e) => setName(e.target.value)}
        spellCheck={false}
        autoCapitalize="off"
      />
      <button type="submit" disabled={busy || name.trim() === ""}>{busy ? "Asking…" : "Download"}</button>
      {message && <p className={message.ok ? "muted download-msg" : "error download-msg"} role="status">{message.text}</p>}
      {failed.map(([n, why]) => (
        <p key={n} className="error download-msg">Download of {n} failed: {why}</p>
      ))}
    </form>
  );
}
