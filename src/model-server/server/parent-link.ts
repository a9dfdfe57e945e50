// The link to a parent process (the router). When started with an IPC channel (child_process.fork), the server
// reports what it serves and when it is ready, and exits as soon as the channel closes: that happens even when
// the parent is SIGKILLed, so no model process outlives its router.
import type { ChildMessage } from "../../engines/node/protocol.js";

export interface ParentLink {
  readonly attached: boolean;
  notify(msg: ChildMessage): void;
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
