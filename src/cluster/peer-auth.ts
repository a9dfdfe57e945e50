// Requests one node forwards to another: marked as forwarded (the receiver serves them itself, never forwards
// them again, so that two views that disagree cannot bounce a request for ever) and carrying the cluster's key.
import { timingSafeEqual } from "node:crypto";

/** The cluster key a forwarded request carries. */
export const CLUSTER_KEY_HEADER = "x-corral-cluster-key";
/** The name of the node that forwarded the request. */
export const FORWARDED_BY_HEADER = "x-corral-forwarded-by";

/** Headers a node adds to a request it forwards. */
export function forwardHeaders(self: string, key: string | undefined): Record<string, string> {
  return { [FORWARDED_BY_HEADER]: self, ...(key !== undefined ? { [CLUSTER_KEY_HEADER]: key } : {}) };
}

/**
 * Whether a request came from another node of the cluster: it says so, and carries the key when one is set.
 * A request that says so without the right key is no peer's: it is served as a client's (authenticated as one).
 */
export function isPeerRequest(headers: Record<string, string | string[] | undefined>, key: string | undefined): boolean {
  if (typeof headers[FORWARDED_BY_HEADER] !== "string") return false;
  if (key === undefined) return true;
  const given = headers[CLUSTER_KEY_HEADER];
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}
