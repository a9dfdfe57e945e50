import { useEffect, useState } from "react";

/** The time now (ms), updated every `everyMs`: "5 s ago" keeps counting between two reads of the server. */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
