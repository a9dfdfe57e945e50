import { useEffect, useState } from "react";
import { apiJson, type ModelInfo } from "../api";

/** The server's models, kept current. (Placeholder: polls; the models view replaces this with /models/sse.) */
export function useModels(): ModelInfo[] {
  const [models, setModels] = useState<ModelInfo[]>([]);
  useEffect(() => {
    let stop = false;
    const tick = async () => {
      try {
        const r = await apiJson<{ data: ModelInfo[] }>("/models");
        if (!stop) setModels(r.data);
      } catch {
        // shown by the models view
      }
    };
    void tick();
    const t = setInterval(tick, 2000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, []);
  return models;
}
