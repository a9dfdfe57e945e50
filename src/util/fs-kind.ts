// What a path is, without throwing: discovery walks folders users point at, where anything may be missing or odd.
import { statSync } from "node:fs";

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
