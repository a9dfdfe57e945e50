// Options that only make sense together, or not together: checked once after parsing, so that the mistake is the
// CLI's one-line error rather than a surprise later (llama-server silently serves plain HTTP with only one of
// the two TLS files, for instance).
import type { ServerOptions } from "./options.js";
import { CliError } from "./parse.js";

export function checkCombinations(o: ServerOptions): void {
  if ((o.sslKeyFile === undefined) !== (o.sslCertFile === undefined)) {
    throw new CliError(o.sslKeyFile ? "--ssl-key-file needs --ssl-cert-file (the certificate for the key)" : "--ssl-cert-file needs --ssl-key-file (the key of the certificate)");
  }
  const grammars = (["grammar", "grammarFile", "jsonSchema", "jsonSchemaFile"] as const).filter((k) => o[k] !== undefined);
  if (grammars.length > 1) {
    const flag = { grammar: "--grammar", grammarFile: "--grammar-file", jsonSchema: "--json-schema", jsonSchemaFile: "--json-schema-file" };
    throw new CliError(`${grammars.map((k) => flag[k]).join(" and ")}: give only one default grammar`);
  }
}
