// --ssl-key-file / --ssl-cert-file: the PEM files are read once at start-up, so a missing or unreadable file is a
// start-up error rather than a failure at the first connection.
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { StartupError } from "./startup-error.js";

export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
}

export function readTlsFiles(o: { sslKeyFile?: string; sslCertFile?: string }): TlsFiles | undefined {
  if (!o.sslKeyFile || !o.sslCertFile) return undefined;
  const read = (file: string, flag: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new StartupError(`cannot read ${flag} '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const files = { key: read(o.sslKeyFile, "--ssl-key-file"), cert: read(o.sslCertFile, "--ssl-cert-file") };
  try {
    createSecureContext(files);
  } catch (err) {
    throw new StartupError(`--ssl-key-file / --ssl-cert-file: ${(err as Error).message}`);
  }
  return files;
}
