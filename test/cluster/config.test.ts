// The cluster flags: parsed by the options table, checked and completed at start-up by a pure function.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseArgs } from "../../src/options/parse.js";
import { resolveClusterConfig, ClusterConfigError, type ClusterFlags, type ConfigContext } from "../../src/cluster/config.js";
import { parseNatsServers } from "../../src/cluster/nats-servers.js";
import { forwardHeaders, isPeerRequest } from "../../src/cluster/peer-auth.js";
import { StartupError } from "../../src/util/startup-error.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const files: Record<string, string> = { "/keys/good": "s3cret\nignored second line\n", "/keys/empty": "\n" };
const ctx: ConfigContext = {
  hostname: "box",
  port: 8080,
  readFile: (p) => {
    const text = files[p];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${p}'`), { code: "ENOENT" });
    return text;
  },
};

function resolve(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const o = parseArgs(argv, env).options;
  return resolveClusterConfig(o as ClusterFlags, ctx);
}

function fails(argv: string[], message: RegExp) {
  assert.throws(() => resolve(argv), (e: unknown) => e instanceof ClusterConfigError && e instanceof StartupError && message.test(e.message) && !e.message.includes("\n"),
    `${argv.join(" ")} should fail with ${message}`);
}

describe("cluster options", () => {
  test("flags and environment variables reach the options; --cluster-ttl defaults to 10", () => {
    const o = parseArgs(["--cluster", "nats://a:4222,nats://b:4222", "--node-name", "n1", "--advertise", "http://10.0.0.1:8080", "--cluster-key", "k"], {}).options;
    assert.deepEqual([o.cluster, o.nodeName, o.advertise, o.clusterKey, o.clusterTtl], [["nats://a:4222", "nats://b:4222"], "n1", "http://10.0.0.1:8080", "k", 10]);
    const e = parseArgs([], { CORRAL_CLUSTER: "nats://n:4222", CORRAL_NODE_NAME: "x", CORRAL_ADVERTISE: "http://x:1", CORRAL_CLUSTER_TTL: "3", CORRAL_CLUSTER_KEY_FILE: "/k" }).options;
    assert.deepEqual([e.cluster, e.nodeName, e.advertise, e.clusterTtl, e.clusterKeyFile], [["nats://n:4222"], "x", "http://x:1", 3, "/k"]);
    assert.throws(() => parseArgs(["--cluster-ttl", "0"], {}), /--cluster-ttl: must be >= 1/);
  });

  test("without --cluster: no configuration, and a warning for cluster flags that do nothing", () => {
    assert.deepEqual(resolve([]), { warnings: [] });
    assert.deepEqual(resolve(["--node-name", "x", "--cluster-key", "k"]).warnings, ["--node-name, --cluster-key: no effect without --cluster"]);
  });

  test("defaults: node name HOSTNAME:PORT, advertise http://HOST:PORT (https with TLS, IPv6 bracketed)", () => {
    const { config, warnings } = resolve(["--cluster", "nats://127.0.0.1:4222"]);
    assert.equal(config!.nodeName, "box:8080");
    assert.equal(config!.advertise, "http://127.0.0.1:8080");
    assert.equal(config!.ttlMs, 10_000);
    assert.equal(config!.key, undefined);
    assert.deepEqual(warnings, [], "a loopback node without a key is fine");
    assert.equal(resolve(["--cluster", "n:1", "--host", "10.1.2.3", "--cluster-key", "k"]).config!.advertise, "http://10.1.2.3:8080");
    assert.equal(resolve(["--cluster", "n:1", "--host", "fd00::5", "--cluster-key", "k"]).config!.advertise, "http://[fd00::5]:8080");
    assert.equal(resolve(["--cluster", "n:1", "--ssl-cert-file", "c", "--ssl-key-file", "k"]).config!.advertise, "https://127.0.0.1:8080");
  });

  test("--advertise is required when listening on every address, and must be a reachable http(s) URL", () => {
    fails(["--cluster", "nats://n:4222", "--host", "0.0.0.0"], /^--advertise: required with --host 0\.0\.0\.0/);
    fails(["--cluster", "nats://n:4222", "--host", "::"], /^--advertise: required with --host ::/);
    fails(["--cluster", "nats://n:4222", "--advertise", "not a url"], /^--advertise: 'not a url' is not a URL/);
    fails(["--cluster", "nats://n:4222", "--advertise", "ftp://x"], /^--advertise: expected an http:\/\/ or https:\/\/ URL/);
    fails(["--cluster", "nats://n:4222", "--advertise", "http://0.0.0.0:8080"], /^--advertise: 0\.0\.0\.0 is not an address other nodes can reach/);
    fails(["--cluster", "nats://n:4222", "--advertise", "http://u:p@x:1"], /without credentials/);
    const ok = resolve(["--cluster", "nats://n:4222", "--host", "0.0.0.0", "--advertise", "http://corral-0.corral-headless:8080/", "--cluster-key", "k"]);
    assert.equal(ok.config!.advertise, "http://corral-0.corral-headless:8080");
  });

  test("a bad --cluster URL is one line naming the flag, with credentials masked", () => {
    fails(["--cluster", "http://n:4222"], /^--cluster: 'http:\/\/n:4222': expected a nats:\/\/ or tls:\/\/ URL/);
    fails(["--cluster", "nats://user:hunter2@n:4222/path"], /^--cluster: 'nats:\/\/\*\*\*@n:4222\/path': a NATS URL is only/);
    fails(["--cluster", "nats://a:1,nats://u:p@b:2"], /every NATS URL must carry the same credentials/);
    fails(["--cluster", "nats://[bad"], /^--cluster: 'nats:\/\/\[bad' is not a URL/);
    assert.throws(() => resolve(["--cluster", "nats://user:hunter2@n:99999"]), (e: unknown) => !(e as Error).message.includes("hunter2"));
  });

  test("the cluster key: from the flag or the file's first line; an unreadable or empty file is an error", () => {
    assert.equal(resolve(["--cluster", "n:1", "--cluster-key-file", "/keys/good"]).config!.key, "s3cret");
    assert.equal(resolve(["--cluster", "n:1", "--cluster-key", "abc"]).config!.key, "abc");
    fails(["--cluster", "n:1", "--cluster-key-file", "/keys/missing"], /^--cluster-key-file: cannot read '\/keys\/missing': ENOENT$/);
    fails(["--cluster", "n:1", "--cluster-key-file", "/keys/empty"], /holds no key/);
    fails(["--cluster", "n:1", "--cluster-key", "a", "--cluster-key-file", "/keys/good"], /give only one/);
    fails(["--cluster", "n:1", "--cluster-key", "  "], /the key is empty/);
    assert.match(resolve(["--cluster", "n:1", "--host", "10.0.0.2"]).warnings.join("\n"), /without --cluster-key/);
  });

  test("--node-name: printable, no spaces, at most 128 characters", () => {
    fails(["--cluster", "n:1", "--node-name", "a b"], /^--node-name: only printable ASCII without spaces/);
    fails(["--cluster", "n:1", "--node-name", "x".repeat(129)], /^--node-name: expected 1 to 128 characters/);
    assert.equal(resolve(["--cluster", "n:1", "--node-name", "gpu-box:8080/a"]).config!.nodeName, "gpu-box:8080/a");
  });
});

describe("NATS server URLs", () => {
  test("credentials leave the URL for the client's options; the shown form masks them", () => {
    const p = parseNatsServers(["nats://alice:s%40cret@n1:4222", "nats://alice:s%40cret@n2"]);
    assert.deepEqual(p.servers, ["n1:4222", "n2:4222"]);
    assert.deepEqual([p.user, p.pass, p.token, p.tls], ["alice", "s@cret", undefined, false]);
    assert.deepEqual(p.shown, ["nats://***@n1:4222", "nats://***@n2:4222"]);
    const t = parseNatsServers(["tls://tok@n:4443"]);
    assert.deepEqual([t.token, t.user, t.tls, t.servers], ["tok", undefined, true, ["n:4443"]]);
    assert.deepEqual(parseNatsServers(["127.0.0.1:5000"]).servers, ["127.0.0.1:5000"]);
    assert.throws(() => parseNatsServers([]), /at least one NATS URL/);
  });
});

describe("forwarded requests", () => {
  test("a peer's request says who forwarded it and carries the key; without the right key it is a client's", () => {
    const h = forwardHeaders("node-a", "k3y");
    assert.deepEqual(h, { "x-corral-forwarded-by": "node-a", "x-corral-cluster-key": "k3y" });
    assert.equal(isPeerRequest(h, "k3y"), true);
    assert.equal(isPeerRequest({ ...h, "x-corral-cluster-key": "k3z" }, "k3y"), false);
    assert.equal(isPeerRequest({ ...h, "x-corral-cluster-key": "k3" }, "k3y"), false);
    assert.equal(isPeerRequest({ "x-corral-forwarded-by": "node-a" }, "k3y"), false);
    assert.equal(isPeerRequest({ "x-corral-cluster-key": "k3y" }, "k3y"), false, "a key alone is not a forwarded request");
    assert.equal(isPeerRequest(forwardHeaders("node-a", undefined), undefined), true, "no key configured: the mark is enough");
  });
});

describe("loading", () => {
  test("the start-up checks load no NATS code (a router without --cluster must not), the entry point does", () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    /** Every package a compiled module imports, following its relative imports. */
    const packages = (entry: string): Set<string> => {
      const seen = new Set<string>();
      const found = new Set<string>();
      const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const m of readFileSync(file, "utf8").matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/gm)) {
          const spec = m[1] ?? m[2]!;
          if (spec.startsWith(".")) visit(path.resolve(path.dirname(file), spec));
          else found.add(spec);
        }
      };
      visit(entry);
      return found;
    };
    const src = path.resolve(here, "../../src/cluster");
    assert.ok(![...packages(path.join(src, "config.js"))].some((p) => p.startsWith("@nats-io/")));
    assert.ok(packages(path.join(src, "cluster.js")).has("@nats-io/kv"));
  });
});
