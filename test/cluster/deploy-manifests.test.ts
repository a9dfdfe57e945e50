// The deployment files against the code they deploy: every flag and every CORRAL_* / LLAMA_* variable they use
// is one the options table knows, the nodes' settings pass the cluster's start-up checks, and the Kubernetes
// objects point at each other (headless Service, advertised URL, ports, secrets).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { OPTIONS } from "../../src/options/options.js";
import { parseArgs } from "../../src/options/parse.js";
import { resolveClusterConfig, type ClusterFlags } from "../../src/cluster/config.js";
import { REPO_ROOT } from "../helpers/server.js";
import { parseYamlDocuments, type Yaml } from "./light-yaml.js";

const read = (rel: string) => readFileSync(path.join(REPO_ROOT, rel), "utf8");

const FLAGS = new Set(OPTIONS.flatMap((o) => [...o.names, ...(o.negNames ?? [])]));
// a variable is in the table as an option's own, or named ($NAME) in an option's help as where its default comes from
const VARIABLES = new Set([...OPTIONS.flatMap((o) => (o.env ? [o.env] : [])), ...OPTIONS.flatMap((o) => [...o.help.matchAll(/\$([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!))]);
const OURS = /^(CORRAL|LLAMA)_/;

type Obj = { [key: string]: Yaml };
const obj = (v: Yaml | undefined): Obj => (v !== undefined && typeof v === "object" && !Array.isArray(v) ? v : {});
const list = (v: Yaml | undefined): Yaml[] => (Array.isArray(v) ? v : []);
const str = (v: Yaml | undefined): string => (typeof v === "string" ? v : "");

function checkFlags(args: readonly string[], where: string): void {
  for (const a of args) {
    if (!a.startsWith("-") || /^-?\d/.test(a.slice(1))) continue;
    const name = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    assert.ok(FLAGS.has(name), `${where}: ${name} is not an option corral knows`);
  }
}

function checkVariables(names: readonly string[], where: string): void {
  for (const n of names.filter((v) => OURS.test(v))) assert.ok(VARIABLES.has(n), `${where}: ${n} is not in the options table`);
}

/** Kubernetes' $(VAR) references in env values, as the kubelet expands them (earlier variables only). */
function expand(env: Array<{ name: string; value?: string }>, fieldValues: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) out[e.name] = e.value !== undefined ? e.value.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, v: string) => out[v] ?? m) : (fieldValues[e.name] ?? "");
  return out;
}

describe("deployment files", () => {
  const docs = parseYamlDocuments(read("deploy/kubernetes/corral.yaml")).map(obj);
  const byKind = (kind: string) => docs.filter((d) => d["kind"] === kind);
  const sts = byKind("StatefulSet")[0]!;
  const podSpec = obj(obj(obj(sts["spec"])["template"])["spec"]);
  const container = obj(list(podSpec["containers"])[0]);
  const args = list(container["args"]).map(str);
  const env = list(container["env"]).map(obj).map((e) => ({ name: str(e["name"]), ...(e["value"] !== undefined ? { value: str(e["value"]) } : {}) }));

  test("the manifests' flags and variables are all in the options table", () => {
    assert.ok(sts, "a StatefulSet");
    assert.ok(args.length > 0 && env.length > 0, "the container has args and env");
    checkFlags(args, "corral.yaml args");
    checkVariables(env.map((e) => e.name), "corral.yaml env");
    // and the check itself catches what it should
    assert.throws(() => checkFlags(["--cluster-nodes"], "x"), /--cluster-nodes is not an option/);
    assert.throws(() => checkVariables(["CORRAL_CLUSTER_URL"], "x"), /CORRAL_CLUSTER_URL is not in the options table/);
  });

  test("a pod's settings parse and pass the cluster's start-up checks: its name, and its address through the headless Service", () => {
    const values = expand(env, { POD_NAME: "corral-1" });
    const parsed = parseArgs(args, values);
    const { config, warnings } = resolveClusterConfig(parsed.options as ClusterFlags, { hostname: "ignored", port: parsed.options.port, readFile: () => "key\n" });
    assert.ok(config, "--cluster is set");
    assert.deepEqual(warnings, []);
    assert.equal(config.nodeName, "corral-1");
    const headless = byKind("Service").find((s) => obj(s["spec"])["clusterIP"] === "None");
    assert.ok(headless, "a headless Service");
    const headlessName = str(obj(headless["metadata"])["name"]);
    assert.equal(str(obj(sts["spec"])["serviceName"]), headlessName, "the StatefulSet's pods get their DNS names from the headless Service");
    assert.equal(config.advertise, `http://corral-1.${headlessName}:${parsed.options.port}`);
    assert.deepEqual(config.nats.servers, ["nats:4222"], "the Service of the NATS release named in the README");
    assert.equal(config.key, "key");
  });

  test("ports, probes, secrets and selectors agree", () => {
    const { options } = parseArgs(args, expand(env, { POD_NAME: "corral-0" }));
    const port = list(container["ports"]).map(obj).find((p) => p["name"] === "http");
    assert.equal(Number(str(port?.["containerPort"])), options.port);
    for (const probe of ["readinessProbe", "livenessProbe"]) assert.equal(str(obj(obj(container[probe])["httpGet"])["path"]), "/health", probe);
    const labels = obj(obj(obj(obj(sts["spec"])["template"])["metadata"])["labels"]);
    for (const svc of byKind("Service")) {
      for (const [k, v] of Object.entries(obj(obj(svc["spec"])["selector"]))) assert.equal(labels[k], v, `Service ${str(obj(svc["metadata"])["name"])} selects the pods`);
      for (const p of list(obj(svc["spec"])["ports"]).map(obj)) assert.equal(p["targetPort"], "http");
    }
    // every file a flag names is in a mounted volume
    const mounts = list(container["volumeMounts"]).map(obj).map((m) => str(m["mountPath"]));
    for (const file of [options.apiKeyFile, options.clusterKeyFile]) {
      assert.ok(file && mounts.some((m) => file.startsWith(`${m}/`)), `${file} is mounted`);
    }
    const secrets = list(podSpec["volumes"]).map(obj).map((v) => str(obj(v["secret"])["secretName"])).filter(Boolean);
    const readme = read("deploy/kubernetes/README.md");
    for (const s of secrets) assert.match(readme, new RegExp(`kubectl create secret generic ${s} `), `the README creates ${s}`);
  });

  test("NATS: the Helm values turn JetStream on, and the README installs the release the nodes point at", () => {
    const values = obj(parseYamlDocuments(read("deploy/kubernetes/values-nats.yaml"))[0]);
    const js = obj(obj(values["config"])["jetstream"]);
    assert.equal(js["enabled"], "true");
    assert.equal(obj(js["fileStore"])["enabled"], "true");
    assert.match(read("deploy/kubernetes/README.md"), /^helm install nats nats\/nats -f deploy\/kubernetes\/values-nats\.yaml$/m);
  });

  test("the Dockerfile: its flags and variables are in the options table, and it points corral at the llama-server it builds", () => {
    const dockerfile = read("Dockerfile");
    const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    for (const m of runtime.matchAll(/^(?:CMD|ENTRYPOINT) (\[.*\])$/gm)) checkFlags(JSON.parse(m[1]!) as string[], "Dockerfile");
    const envNames: string[] = [];
    const envValues: Record<string, string> = {};
    for (const m of dockerfile.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
      for (const pair of m[1]!.replace(/\\\n/g, " ").trim().split(/\s+/)) {
        const [k, v] = pair.split("=");
        envNames.push(k!);
        envValues[k!] = v ?? "";
      }
    }
    checkVariables(envNames, "Dockerfile ENV");
    assert.match(dockerfile, /^RUN bin\/corral engine build /m, "the build stage builds llama-server");
    assert.match(dockerfile, new RegExp(`^COPY --from=build \\S+ ${envValues["LLAMA_SERVER_BIN"]!.replace(/\//g, "\\/")}$`, "m"), "LLAMA_SERVER_BIN is the binary copied in");
    assert.match(dockerfile, /^FROM node:20[-\w]*-slim$/m, "the runtime stage is Node 20 slim");
  });
});
