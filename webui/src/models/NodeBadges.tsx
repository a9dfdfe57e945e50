import type { ModelNode } from "../api";

/** In a cluster, the nodes a model is on and its status on each ("a · loaded"); nothing without one. */
export function NodeBadges({ nodes }: { nodes: ModelNode[] | undefined }) {
  if (!nodes || nodes.length === 0) return null;
  return (
    <div className="model-nodes" aria-label="nodes">
      {nodes.map((n) => (
        <span
          key={n.name}
          className={`badge node-badge badge-${n.status}`}
          data-node={n.name}
          data-status={n.status}
          title={`${n.status} on node ${n.name}`}
        >
          {n.name} · {n.status}
        </span>
      ))}
    </div>
  );
}
