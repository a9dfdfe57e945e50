/**
 * How long a model stays loaded once idle, as a client asks for it (Ollama's keep_alive): milliseconds (0: unload it
 * now), or for ever. The Ollama dialect parses it, the scheduler applies it.
 */
export type KeepAlive = number | "forever";
