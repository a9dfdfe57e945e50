import type { ModelInfo } from "../api";

// Placeholder: replaced by the view's real implementation.
export function ModelsView({ models }: { models: ModelInfo[] }) {
  return <p>{models.length} models</p>;
}
