import { useSyncExternalStore } from "react";
import type { ModelInfo } from "../api";
import { getModelsState, subscribeModels, type ModelsState } from "./store";

/** The server's models, kept current (models/store.ts). */
export function useModels(): ModelInfo[] {
  return useSyncExternalStore(subscribeModels, () => getModelsState().models);
}

/** The whole feed: the models, the server's mode, whether the live stream is up, failed downloads. */
export function useModelsState(): ModelsState {
  return useSyncExternalStore(subscribeModels, getModelsState);
}
