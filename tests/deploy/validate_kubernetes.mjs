// Validates the Kubernetes manifests of deploy/kubernetes:
//   node validate_kubernetes.mjs <manifest dir>
//
// Three checks, each of which must pass for every object:
//  - schema: kubernetes-models' JSON-schema validators (ajv, generated from
//    the Kubernetes OpenAPI spec): types, enums, required fields, formats.
//    They accept unknown fields, as the API server's non-strict mode does;
//  - types: the same package's TypeScript interfaces, generated from the same
//    spec, checked by the TypeScript compiler: every object becomes an object
//    literal of its kind's interface, so an unknown or misspelt field is an
//    excess-property error (what `kubectl apply --validate=strict` rejects);
//  - references the schema cannot see: serviceName, selectors, ports,
//    ConfigMaps, volumes, the grace period against the shutdown timeout, and
//    kustomization.yaml listing exactly the manifest files.
// Before trusting a pass, it feeds broken copies of the manifests through the
// same checks and fails unless each is rejected for the expected reason, so a
// validator that accepts everything fails this test.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import YAML from "yaml";

const packageDir = path.dirname(fileURLToPath(import.meta.url));

// --- Loading ---------------------------------------------------------------

// Every document of every *.yaml file but kustomization.yaml, as
// {source, object}; YAML errors and warnings (duplicate keys, ...) are fatal.
function loadManifests(dir, problems) {
  const manifests = [];
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml")
    .sort();
  for (const file of files) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, file), "utf8"));
    docs.forEach((doc, i) => {
      for (const e of [...doc.errors, ...doc.warnings]) problems.push(`${file}: ${e.message}`);
      const object = doc.toJS();
      if (object !== null) manifests.push({ source: docs.length > 1 ? `${file}#${i}` : file, object });
    });
  }
  const kustomization = YAML.parse(fs.readFileSync(path.join(dir, "kustomization.yaml"), "utf8"));
  return { files, kustomization, manifests };
}

// --- Schema: kubernetes-models (ajv) ----------------------------------------

async function schemaErrors(object) {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return ["apiVersion and kind must be strings"];
  }
  let model;
  try {
    model = (await import(`kubernetes-models/${apiVersion}/${kind}`))[kind];
  } catch {
    return [`no schema for ${apiVersion} ${kind}: not a built-in Kubernetes kind`];
  }
  try {
    new model(object).validate();
    return [];
  } catch (e) {
    if (!e.errors) throw e;
    return e.errors.map((err) => `${err.instancePath || "/"} ${err.message}`);
  }
}

// --- Types: kubernetes-models' interfaces, checked by tsc -------------------

// The JSON path ("spec.template.spec.containers[0].bogus") of the innermost
// property of an object literal that spans `pos`.
function literalPathAt(node, pos) {
  const parts = [];
  const visit = (n) => {
    n.forEachChild((child) => {
      if (pos < child.getStart() || pos >= child.getEnd()) return;
      if (ts.isPropertyAssignment(child)) parts.push(JSON.parse(child.name.getText()));
      if (ts.isArrayLiteralExpression(n)) parts.push(`[${n.elements.indexOf(child)}]`);
      visit(child);
    });
  };
  visit(node);
  return parts.join(".").replaceAll(".[", "[");
}

// Type-checks every labelled object ({label, object}) in one compiler run and
// returns label -> messages. Virtual sources live beside node_modules so that
// `kubernetes-models/...` resolves; nothing is written to disk.
function typeErrors(labelled) {
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const sources = new Map();
  const labels = new Map();
  const result = new Map();
  labelled.forEach(({ label, object }, i) => {
    result.set(label, []);
    const { apiVersion, kind } = object;
    if (typeof apiVersion !== "string" || !/^[A-Za-z]+$/.test(kind ?? "")) {
      result.get(label).push("apiVersion and kind must be strings");
      return;
    }
    const file = path.join(packageDir, ".manifest-types", `object${i}.mts`);
    sources.set(
      file,
      `import type { I${kind} } from "kubernetes-models/${apiVersion}/${kind}";\n` +
        `export const object: I${kind} = ${JSON.stringify(object, null, 2)};\n`,
    );
    labels.set(file, label);
  });
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (file, language, ...rest) =>
    sources.has(file)
      ? ts.createSourceFile(file, sources.get(file), language, true)
      : getSourceFile.call(host, file, language, ...rest);
  host.fileExists = (file) => sources.has(file) || fileExists.call(host, file);
  host.readFile = (file) => sources.get(file) ?? readFile.call(host, file);
  const program = ts.createProgram([...sources.keys()], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    const label = d.file && labels.get(d.file.fileName);
    if (!label) throw new Error(`TypeScript outside the manifests: ${message}`);
    const where = literalPathAt(d.file, d.start ?? 0) || "(object)";
    result.get(label).push(`${where}: ${message}`);
  }
  return result;
}

// --- References the schema cannot check -------------------------------------

const subsetOf = (small, big) =>
  Object.entries(small ?? {}).every(([k, v]) => (big ?? {})[k] === v);

function durationSeconds(text) {
  const m = /^(\d+)(ms|s|m|h)$/.exec(String(text));
  if (!m) return NaN;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
}

function referenceErrors({ files, kustomization, manifests }) {
  const errors = [];
  const objects = manifests.map((m) => m.object);
  const ofKind = (kind) => objects.filter((o) => o.kind === kind);
  const named = (kind, name) => ofKind(kind).find((o) => o.metadata?.name === name);

  const listed = [...(kustomization?.resources ?? [])].sort();
  if (JSON.stringify(listed) !== JSON.stringify(files)) {
    errors.push(`kustomization.yaml resources [${listed}] are not the manifest files [${files}]`);
  }
  const seen = new Set();
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata?.name}`;
    if (!o.metadata?.name) errors.push(`a ${o.kind} has no metadata.name`);
    if (seen.has(key)) errors.push(`${key} is defined twice`);
    seen.add(key);
  }

  const sets = ofKind("StatefulSet");
  if (sets.length !== 1) return [...errors, `expected one StatefulSet, found ${sets.length}`];
  const set = sets[0];
  const name = `StatefulSet/${set.metadata?.name}`;
  const pod = set.spec?.template ?? {};
  const podLabels = pod.metadata?.labels ?? {};
  const containers = pod.spec?.containers ?? [];

  if (!subsetOf(set.spec?.selector?.matchLabels, podLabels)) {
    errors.push(`${name}: spec.selector.matchLabels do not match the pod template's labels`);
  }
  const headless = named("Service", set.spec?.serviceName);
  if (!headless) {
    errors.push(`${name}: serviceName ${set.spec?.serviceName} names no Service`);
  } else if (headless.spec?.clusterIP !== "None") {
    errors.push(`${name}: serviceName ${set.spec.serviceName} is not headless (clusterIP: None)`);
  }

  const portsByNameOrNumber = new Set(
    containers.flatMap((c) => (c.ports ?? []).flatMap((p) => [p.name, p.containerPort])),
  );
  for (const svc of ofKind("Service")) {
    const where = `Service/${svc.metadata?.name}`;
    const selector = svc.spec?.selector ?? {};
    if (Object.keys(selector).length === 0 || !subsetOf(selector, podLabels)) {
      errors.push(`${where}: selector does not select the StatefulSet's pods`);
    }
    for (const p of svc.spec?.ports ?? []) {
      if (!portsByNameOrNumber.has(p.targetPort ?? p.port)) {
        errors.push(`${where}: port ${p.name} targets ${p.targetPort ?? p.port}, no container port`);
      }
    }
  }
  for (const pdb of ofKind("PodDisruptionBudget")) {
    const selector = pdb.spec?.selector?.matchLabels ?? {};
    if (Object.keys(selector).length === 0 || !subsetOf(selector, podLabels)) {
      errors.push(`PodDisruptionBudget/${pdb.metadata?.name}: selector does not match the pods`);
    }
  }
  if (ofKind("PodDisruptionBudget").length === 0) errors.push("no PodDisruptionBudget");

  const volumes = new Set([
    ...(pod.spec?.volumes ?? []).map((v) => v.name),
    ...(set.spec?.volumeClaimTemplates ?? []).map((v) => v.metadata?.name),
  ]);
  const configMaps = [];
  for (const c of containers) {
    const where = `${name}: container ${c.name}`;
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const handler = c[probe] ?? {};
      for (const action of ["grpc", "httpGet", "tcpSocket"]) {
        if (handler[action] && !portsByNameOrNumber.has(handler[action].port)) {
          errors.push(`${where}: ${probe} port ${handler[action].port} is no container port`);
        }
      }
    }
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) errors.push(`${where}: volumeMount ${m.name} names no volume`);
    }
    for (const e of c.envFrom ?? []) {
      if (e.configMapRef) configMaps.push(e.configMapRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef) configMaps.push(e.valueFrom.configMapKeyRef.name);
    }
  }
  for (const cm of configMaps) {
    if (!named("ConfigMap", cm)) errors.push(`${name}: ConfigMap ${cm} is not defined`);
  }

  const scrapePort = pod.metadata?.annotations?.["prometheus.io/port"];
  if (scrapePort !== undefined && !portsByNameOrNumber.has(Number(scrapePort))) {
    errors.push(`${name}: prometheus.io/port ${scrapePort} is no container port`);
  }
  // SIGKILL must not cut the drain short.
  const timeouts = configMaps
    .map((cm) => named("ConfigMap", cm)?.data?.WASIKV_SHUTDOWN_TIMEOUT)
    .filter((t) => t !== undefined);
  const shutdown = Math.max(10, ...timeouts.map(durationSeconds));
  const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
  if (!(grace > shutdown)) {
    errors.push(`${name}: terminationGracePeriodSeconds ${grace} is not above the shutdown timeout`);
  }
  return errors;
}

// --- Running the checks ----------------------------------------------------

// Checks several variants of the manifest set at once (one compiler run) and
// returns, per variant, the list of "source: problem" lines.
async function check(variants) {
  const labelled = variants.flatMap((v, vi) =>
    v.manifests.map((m) => ({ label: `${vi}:${m.source}`, object: m.object })),
  );
  const types = typeErrors(labelled);
  const results = [];
  for (const [vi, v] of variants.entries()) {
    const problems = [];
    for (const m of v.manifests) {
      for (const e of await schemaErrors(m.object)) problems.push(`${m.source}: schema: ${e}`);
      for (const e of types.get(`${vi}:${m.source}`)) problems.push(`${m.source}: types: ${e}`);
    }
    for (const e of referenceErrors(v)) problems.push(`references: ${e}`);
    results.push(problems);
  }
  return results;
}

// A copy of the manifest set whose StatefulSet `edit` changes.
function broken(set, edit) {
  const copy = structuredClone(set);
  edit(copy.manifests.find((m) => m.object.kind === "StatefulSet").object);
  return copy;
}

// Each must be rejected with a problem matching `expect`.
const negativeChecks = [
  {
    what: "replicas as a string",
    expect: /schema: \/spec\/replicas must be integer/,
    edit: (s) => (s.spec.replicas = "1"),
  },
  {
    what: "replicas as a string (types)",
    expect: /types: spec\.replicas: Type 'string' is not assignable to type 'number'/,
    edit: (s) => (s.spec.replicas = "1"),
  },
  {
    what: "an unknown field in a container",
    expect: /types: spec\.template\.spec\.containers\[0\]\.readinessProbes: .*known properties/,
    edit: (s) => (s.spec.template.spec.containers[0].readinessProbes = {}),
  },
  {
    what: "an unknown field in the StatefulSet spec",
    expect: /types: spec\.replica: .*known properties/,
    edit: (s) => (s.spec.replica = 1),
  },
  {
    what: "a podManagementPolicy outside its enum",
    expect: /schema: \/spec\/podManagementPolicy must be equal to one of the allowed values/,
    edit: (s) => (s.spec.podManagementPolicy = "Sometimes"),
  },
  {
    what: "a probe port as a string",
    expect: /schema: .*livenessProbe\/grpc\/port must be integer/,
    edit: (s) => (s.spec.template.spec.containers[0].livenessProbe.grpc.port = "grpc"),
  },
  {
    what: "a serviceName naming no Service",
    expect: /references: .*serviceName wasikv-nowhere names no Service/,
    edit: (s) => (s.spec.serviceName = "wasikv-nowhere"),
  },
  {
    what: "a readiness probe on a port the container does not open",
    expect: /references: .*readinessProbe port 50099 is no container port/,
    edit: (s) => (s.spec.template.spec.containers[0].readinessProbe.grpc.port = 50099),
  },
  {
    what: "pod labels no Service selects",
    expect: /references: Service\/wasikv: selector does not select/,
    edit: (s) => (s.spec.template.metadata.labels["app.kubernetes.io/component"] = "other"),
  },
  {
    what: "envFrom naming a missing ConfigMap",
    expect: /references: .*ConfigMap wasikv-nothing is not defined/,
    edit: (s) => (s.spec.template.spec.containers[0].envFrom[0].configMapRef.name = "wasikv-nothing"),
  },
  {
    what: "a grace period below the shutdown timeout",
    expect: /references: .*terminationGracePeriodSeconds 5 is not above/,
    edit: (s) => (s.spec.template.spec.terminationGracePeriodSeconds = 5),
  },
];

async function main() {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node validate_kubernetes.mjs <manifest dir>");
    process.exit(2);
  }
  const loadProblems = [];
  const set = loadManifests(dir, loadProblems);
  const variants = [set, ...negativeChecks.map((c) => broken(set, c.edit))];
  const [real, ...rejected] = await check(variants);

  let passed = 0;
  let failed = 0;
  const problems = [...loadProblems, ...real];
  if (problems.length === 0 && set.manifests.length > 0) {
    console.log(`ok: ${set.manifests.length} manifests in ${dir} are valid`);
    passed++;
  } else {
    console.log(`FAIL: manifests in ${dir}:\n  ${problems.join("\n  ") || "none found"}`);
    failed++;
  }
  negativeChecks.forEach((c, i) => {
    if (rejected[i].some((p) => c.expect.test(p))) {
      console.log(`ok: rejects ${c.what}`);
      passed++;
    } else {
      console.log(`FAIL: did not reject ${c.what} as ${c.expect}; it reported:`);
      for (const p of rejected[i]) console.log(`  ${p}`);
      failed++;
    }
  });
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

await main();
