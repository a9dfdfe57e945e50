import { useSyncExternalStore } from "react";
import { getModelsState, subscribeModels, type ModelsState } from "./store";

/** The server's models, kept current (models/store.ts), and the rest of the feed: the server's mode, whether the live stream is up, failed downloads. */
export function useModelsState(): ModelsState {
  return useSyncExternalStore(subscribeModels, getModelsState);
}
