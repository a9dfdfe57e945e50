// The link to a parent process (the router). When started with an IPC channel (child_process.fork), the server
// reports what it serves and when it is ready, and exits as soon as the channel closes: that happens even when
// the parent is SIGKILLed, so no model process outlives its router.
export type ParentMessage =
  | { type: "listening"; port: number; host: string; socketPath?: string }
  | { type: "progress"; value: number }
  | { type: "ready"; info: Record<string, unknown> }
  | { type: "failed"; error: string };

export interface ParentLink {
  readonly attached: boolean;
  notify(msg: ParentMessage): void;
}

export function connectParent(onGone: () => void): ParentLink {
  const send = process.send?.bind(process);
  if (!send) return { attached: false, notify: () => {} };
  process.on("disconnect", onGone);
  return {
    attached: true,
    notify(msg) {
      if (process.connected) send(msg);
    },
  };
}
