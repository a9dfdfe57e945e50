import type { ClusterNode } from "../api";
import { Fact } from "../Fact";
import { formatAgo, formatBytes } from "../format";
import { NodeModels } from "./NodeModels";

/** One node: who and where it is, when it was last heard of, its memory, and the models it runs. */
export function NodeCard({ node: n, now }: { node: ClusterNode; now: number }) {
  const { ram, vram } = n.memory ?? {};
  return (
    <li className={`node-card status-${n.status}`} data-node={n.name} data-status={n.status}>
      <div className="model-head">
        <div className="model-name">
          <span className="model-id">{n.name}</span>
          {n.self && <span className="chip self" title="the node serving this page">this node</span>}
        </div>
        <span className={`badge badge-${n.status}`} data-testid="status">
          {n.status}
        </span>
      </div>
      <dl className="facts">
        <Fact k="url" v={n.url} />
        <Fact k="last seen" v={formatAgo(n.last_seen, now, 0)} />
        {n.version && <Fact k="version" v={n.version} />}
        <Fact k="models max" v={n.models_max > 0 ? String(n.models_max) : "no limit"} />
        {ram && <Fact k="RAM" v={`${formatBytes(ram.free)} free of ${formatBytes(ram.budget)}`} />}
        {vram && <Fact k="VRAM" v={`${formatBytes(vram.free)} free of ${formatBytes(vram.budget)}`} />}
        {!ram && !vram && <Fact k="memory" v="no limit" />}
      </dl>
      <NodeModels models={n.models ?? []} />
    </li>
  );
}
