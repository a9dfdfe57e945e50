// GET /cluster for the Nodes view, read while the view is open: every few seconds (last seen, memory and requests
// change without events) and soon after each /models/sse event (a load or unload somewhere in the cluster).
import { useEffect, useState } from "react";
import { apiJson, type ClusterList } from "../api";
import { onModelEvent } from "../models/store";

const REFRESH_MS = 3000;
/** Several events in a row (loading, loaded) cost one read. */
const EVENT_DELAY_MS = 200;

export interface ClusterState {
  /** The last good answer; kept while a later read fails. */
  cluster: ClusterList | undefined;
  /** Why the last read failed, if it did. */
  error: string | undefined;
}

export function useCluster(): ClusterState {
  const [state, setState] = useState<ClusterState>({ cluster: undefined, error: undefined });

  useEffect(() => {
    let alive = true;
    let reading = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = () => {
      const mine = ++reading;
      apiJson<ClusterList>("/cluster").then(
        (r) => {
          // an older read answering late must not undo a newer one
          if (!alive || mine !== reading) return;
          if (!r || !Array.isArray(r.data)) setState((s) => ({ ...s, error: "the server's answer is not a list of nodes" }));
          else setState({ cluster: r, error: undefined });
        },
        (err: Error) => {
          if (alive && mine === reading) setState((s) => ({ ...s, error: err.message }));
        },
      );
    };
    const soon = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(read, EVENT_DELAY_MS);
    };
    read();
    const poll = setInterval(read, REFRESH_MS);
    const off = onModelEvent(soon);
    return () => {
      alive = false;
      clearInterval(poll);
      if (timer !== undefined) clearTimeout(timer);
      off();
    };
  }, []);

  return state;
}
