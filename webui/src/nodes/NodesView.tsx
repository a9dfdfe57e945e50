import { useNow } from "../useNow";
import { NodeCard } from "./NodeCard";
import { useCluster } from "./useCluster";

/** The nodes of the cluster the server belongs to, as it sees them (GET /cluster). */
export function NodesView() {
  const { cluster, error } = useCluster();
  // "last seen 3 s ago" counts on between two reads
  const now = useNow(1000);
  const nodes = cluster?.data ?? [];
  const up = nodes.filter((n) => n.status === "up").length;

  return (
    <section className="nodes">
      <div className="toolbar">
        <span className="muted summary">
          {nodes.length} node{nodes.length === 1 ? "" : "s"}, {up} up
        </span>
      </div>
      {cluster && !cluster.connected && (
        <p className="error note" role="status">
          Node {cluster.node} has lost its connection to the cluster (NATS): what it shows of the other nodes may be out of date.
        </p>
      )}
      {error && <p className="error note">Cannot read the cluster's nodes: {error}</p>}
      {!cluster && !error && <p className="muted">Reading the cluster…</p>}
      <ul className="node-list">
        {nodes.map((n) => (
          <NodeCard key={n.name} node={n} now={now} />
        ))}
      </ul>
    </section>
  );
}
