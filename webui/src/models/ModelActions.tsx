import { useState } from "react";
import type { ModelInfo, ModelNode } from "../api";

interface Props {
  model: ModelInfo;
  busy: boolean;
  act(path: string, body: Record<string, unknown>): void;
  onShowLogs(model: string): void;
}

/**
 * A card's buttons: Load or Unload, Pin, Logs. In a cluster Load and Unload act on one node, named in the request:
 * the one picked where the model is on several, else where it is best off (where it runs, if it does).
 */
export function ModelActions({ model: m, busy, act, onShowLogs }: Props) {
  const nodes = m.nodes ?? [];
  const [picked, setPicked] = useState<string>();
  const node = nodes.find((n) => n.name === picked) ?? nodes.find((n) => n.status === m.status.value) ?? nodes[0];
  const st = node?.status ?? m.status.value;
  const target = node ? { node: node.name } : {};
  const on = node ? ` on node ${node.name}` : "";

  return (
    <div className="actions">
      {nodes.length > 1 && node && <NodePicker nodes={nodes} value={node.name} onChange={setPicked} />}
      {st === "loaded" || st === "loading" ? (
        <button onClick={() => act("/models/unload", { model: m.id, ...target })} disabled={busy} title={`unload it${on}`}>
          Unload
        </button>
      ) : (
        <button
          className="primary"
          onClick={() => act("/models/load", { model: m.id, ...target })}
          disabled={busy || st === "unloading" || st === "downloading"}
          title={`load it${on}`}
        >
          Load
        </button>
      )}
      <button
        onClick={() => act("/models/pin", { model: m.id, pin: !m.pinned })}
        disabled={busy}
        aria-pressed={m.pinned === true}
        title={m.pinned ? "let it be evicted to make room again" : "never evict it to make room"}
      >
        {m.pinned ? "Unpin" : "Pin"}
      </button>
      <button onClick={() => onShowLogs(m.id)}>Logs</button>
    </div>
  );
}

function NodePicker({ nodes, value, onChange }: { nodes: ModelNode[]; value: string; onChange(node: string): void }) {
  return (
    <select className="node-pick" aria-label="Node" title="the node Load and Unload act on" value={value} onChange={(e) => onChange(e.target.value)}>
      {nodes.map((n) => (
        <option key={n.name} value={n.name}>
          {n.name} · {n.status}
        </option>
      ))}
    </select>
  );
}
