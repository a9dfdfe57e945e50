import type { ClusterNode } from "../api";

/** The models running on a node, with their requests: being served, queued, and how many it serves at once. */
export function NodeModels({ models }: { models: ClusterNode["models"] }) {
  if (models.length === 0) return <p className="muted node-models-none">No model loaded.</p>;
  return (
    <table className="node-models">
      <thead>
        <tr>
          <th scope="col">model</th>
          <th scope="col">status</th>
          <th scope="col">in flight</th>
          <th scope="col">waiting</th>
          <th scope="col">slots</th>
        </tr>
      </thead>
      <tbody>
        {models.map((m) => (
          <tr key={m.id} data-model={m.id} data-status={m.status}>
            <td className="model-id">{m.id}</td>
            <td>
              <span className={`badge badge-${m.status}`}>{m.status}</span>
            </td>
            <td>{m.in_flight}</td>
            <td>{m.waiting}</td>
            <td>{m.slots}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
