#!/usr/bin/env node
// wasikv-run on Node's V8: runs one export of a WebAssembly component
// transpiled by jco (lib/run_component.mjs), or of a core module on V8's
// WebAssembly API (lib/run_core_module.mjs), its wasi:keyvalue imports
// served by wasikvd.
// `wasikv-run --runtime node ...` executes this script with its own
// arguments; the flags, output and exit status are wasikv-run's
// (adapter/run/run_args.cc): 0 ran and printed the results one per line,
// 1 the guest trapped (or watch delivery failed or timed out), 2 usage,
// load or link error. A core module's exports are named as it spells them.
//
// The addon is $WASIKV_NODE_ADDON or the newest build/*/ one of this
// checkout (lib/addon.mjs); transpiled components are cached in
// $WASIKV_NODE_CACHE or <tmpdir>/wasikv-node-<uid>.

import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

const EXIT_OK = 0;
const EXIT_TRAP = 1;
const EXIT_USAGE = 2;
const DEFAULT_WATCH_TIMEOUT_MS = 30_000;

const HELP = `wasikv-run --runtime node: runs a WebAssembly component (through jco) or a
core module on Node's V8, with wasi:keyvalue served by wasikvd.

Usage: wasikv-run --runtime node [options] GUEST.wasm

Calls one exported function of the guest and prints its results, one per
line. Exit status: 0 done, 1 the guest trapped (or watch delivery failed or
timed out), 2 usage, load or link error.

  --endpoint HOST:PORT   wasikvd to use [WASIKV_ENDPOINT] (default 127.0.0.1:50051)
  --token TOKEN          bearer token sent on every call [WASIKV_TOKEN]
  --tls                  connect with TLS; the system's CAs verify the server
                         [WASIKV_TLS=true]
  --tls-ca FILE          PEM CA that verifies the server, implies --tls
                         [WASIKV_TLS_CA]
  --tls-cert FILE        PEM client certificate for mutual TLS, with --tls-key
                         [WASIKV_TLS_CERT]
  --tls-key FILE         PEM private key of --tls-cert [WASIKV_TLS_KEY]
  --tls-server-name NAME name to check in the server's certificate (default:
                         the endpoint's host) [WASIKV_TLS_SERVER_NAME]
  --invoke EXPORT        function to call: a component's by its WIT name
                         (check-spin or check_spin), a core module's as it
                         exports it (default run)
  --arg N                integer argument to the export; repeat for each one
  --default-bucket NAME  bucket the guest gets for open("") (default default)
  --allow-bucket NAME    allow only these buckets (repeatable; default: any)
  --deny-bucket NAME     never allow this bucket (repeatable)
  --max-handles N        open handles one guest may hold (default 10000)
  --max-call-alloc BYTES guest memory one call's results may take, k/m/g
                         suffixes allowed (default 16m)
  --list-keys-page-size N
                         keys per list-keys page (default 1000)
  --timeout-ms N         deadline of each server call (default 10000)
  --watch-events N       after --invoke's results are printed, deliver changes
                         to the buckets the guest opened to its exported
                         wasi:keyvalue/watcher (or seed 001's handle-watch)
                         until N have been delivered
  --watch-bucket NAME    also watch this bucket, from the start (repeatable)
  --watch-timeout-ms N   give up on --watch-events after N ms, exit 1
                         (default 30000)
  --then-invoke EXPORT   after that, call this function and print its results
  --runtime NAME         engine to run the guest on: node
  --help                 print this text
`;

class UsageError extends Error {}

const U32_MAX = 4294967295n;

function badValue(flag, value, expected) {
  return new UsageError(`--${flag}: invalid value '${value}', expected ${expected}`);
}

// A decimal integer from `min` to `max`, as std::from_chars reads it: an
// optional '-', digits, nothing else.
function parseInteger(flag, text, min, max, expected) {
  if (!/^-?[0-9]+$/.test(text)) throw badValue(flag, text, expected);
  const value = BigInt(text);
  if (value < min || value > max) throw badValue(flag, text, expected);
  return value;
}

function parseBytes(flag, text) {
  const expected = 'bytes from 1 to 4g-1, e.g. 65536, 64k or 16m';
  const multipliers = { k: 1n << 10n, m: 1n << 20n, g: 1n << 30n };
  const suffix = text.slice(-1).toLowerCase();
  const multiplier = multipliers[suffix] ?? 1n;
  const digits = multiplier === 1n ? text : text.slice(0, -1);
  if (!/^[0-9]+$/.test(digits)) throw badValue(flag, text, expected);
  const bytes = BigInt(digits) * multiplier;
  if (bytes < 1n || bytes > U32_MAX) throw badValue(flag, text, expected);
  return Number(bytes);
}

const FLAGS = {
  help: false,
  endpoint: true,
  token: true,
  tls: false,
  'tls-ca': true,
  'tls-cert': true,
  'tls-key': true,
  'tls-server-name': true,
  invoke: true,
  arg: true,
  'default-bucket': true,
  'allow-bucket': true,
  'deny-bucket': true,
  'max-handles': true,
  'max-call-alloc': true,
  'list-keys-page-size': true,
  'timeout-ms': true,
  'watch-events': true,
  'watch-bucket': true,
  'watch-timeout-ms': true,
  'then-invoke': true,
  runtime: true,
};

function apply(name, value, out) {
  const nonEmpty = (expected) => {
    if (value === '') throw badValue(name, value, expected);
    return value;
  };
  switch (name) {
    case 'help':
      out.help = true;
      break;
    case 'endpoint':
      out.options.endpoint = nonEmpty('HOST:PORT');
      break;
    case 'token':
      out.options.token = value;
      break;
    case 'tls':
      out.tls.on = true;
      break;
    case 'tls-ca':
    case 'tls-cert':
    case 'tls-key':
    case 'tls-server-name':
      out.tls[name] = {
        value: nonEmpty(name === 'tls-server-name' ? 'a host name' : 'a file path'),
        source: `--${name}`,
      };
      break;
    case 'invoke':
      out.invoke = nonEmpty('the name of an exported function');
      break;
    case 'arg': {
      const digits = value.startsWith('+') ? value.slice(1) : value;
      const expected = 'a 64-bit integer';
      if (!/^-?[0-9]+$/.test(digits)) throw badValue(name, value, expected);
      out.args.push(parseInteger(name, digits, -(1n << 63n), (1n << 63n) - 1n, expected));
      break;
    }
    case 'default-bucket':
      out.options.defaultBucket = nonEmpty('a bucket name');
      break;
    case 'allow-bucket':
      out.options.allowedBuckets.push(nonEmpty('a bucket name'));
      break;
    case 'deny-bucket':
      out.options.deniedBuckets.push(nonEmpty('a bucket name'));
      break;
    case 'max-handles':
      out.options.maxHandles = Number(
        parseInteger(name, value, 1n, U32_MAX, 'an integer from 1 to 4294967295'),
      );
      break;
    case 'max-call-alloc':
      out.options.maxCallAllocationBytes = parseBytes(name, value);
      break;
    case 'list-keys-page-size':
      out.options.listKeysPageSize = Number(
        parseInteger(name, value, 1n, U32_MAX, 'an integer from 1 to 4294967295'),
      );
      break;
    case 'timeout-ms':
      out.options.timeoutMs = Number(
        parseInteger(name, value, 1n, 86400000n, 'milliseconds from 1 to 86400000'),
      );
      break;
    case 'watch-events':
      out.watchEvents = Number(
        parseInteger(name, value, 1n, U32_MAX, 'an integer from 1 to 4294967295'),
      );
      break;
    case 'watch-bucket':
      out.watchBuckets.push(nonEmpty('a bucket name'));
      break;
    case 'watch-timeout-ms':
      out.watchTimeoutMs = Number(
        parseInteger(name, value, 1n, 86400000n, 'milliseconds from 1 to 86400000'),
      );
      break;
    case 'then-invoke':
      out.thenInvoke = nonEmpty('the name of an exported function');
      break;
    case 'runtime':
      if (value !== 'node') {
        throw new UsageError(
          `--runtime: '${value}' is not available in wasikv-run-node.mjs; runtimes: node`,
        );
      }
      break;
  }
}

const TLS_VARIABLES = {
  'tls-ca': 'WASIKV_TLS_CA',
  'tls-cert': 'WASIKV_TLS_CERT',
  'tls-key': 'WASIKV_TLS_KEY',
  'tls-server-name': 'WASIKV_TLS_SERVER_NAME',
};

// The PEM text of the file a TLS setting names ({ value, source }).
function readPem(setting, marker, what) {
  let text;
  try {
    text = readFileSync(setting.value, 'utf8');
  } catch (error) {
    const reason = error.code === 'ENOENT' ? 'No such file or directory' : error.message;
    throw new UsageError(`${setting.source} ${setting.value}: cannot read: ${reason}`);
  }
  if (!text.includes(marker)) {
    throw new UsageError(`${setting.source} ${setting.value}: no PEM ${what} in it (${marker})`);
  }
  return text;
}

// The Host's tls option from the TLS settings, as run_args.cc's ResolveTls.
function resolveTls(tls) {
  const ca = tls['tls-ca'];
  const cert = tls['tls-cert'];
  const key = tls['tls-key'];
  const serverName = tls['tls-server-name'];
  if (!tls.on && !ca && !cert && !key && !serverName) return undefined;
  if (Boolean(cert) !== Boolean(key)) {
    throw new UsageError(cert ? `${cert.source} needs --tls-key` : `${key.source} needs --tls-cert`);
  }
  const certificate = '-----BEGIN CERTIFICATE-----';
  const options = {};
  if (ca) options.ca = readPem(ca, certificate, 'certificate');
  if (cert) {
    options.cert = readPem(cert, certificate, 'certificate');
    options.key = readPem(key, 'PRIVATE KEY-----', 'private key');
  }
  if (serverName) options.serverName = serverName.value;
  return options;
}

// The command line, as adapter/run/run_args.cc parses it.
function parseArgs(argv, env) {
  const out = {
    help: false,
    guestPath: undefined,
    invoke: undefined,
    args: [],
    options: { allowedBuckets: [], deniedBuckets: [] },
    tls: { on: false },
    watchEvents: undefined,
    watchBuckets: [],
    watchTimeoutMs: undefined,
    thenInvoke: undefined,
  };
  if (env.WASIKV_ENDPOINT) out.options.endpoint = env.WASIKV_ENDPOINT;
  if (env.WASIKV_TOKEN) out.options.token = env.WASIKV_TOKEN;
  if (env.WASIKV_TLS) {
    if (['1', 'true', 'yes', 'on'].includes(env.WASIKV_TLS)) {
      out.tls.on = true;
    } else if (!['0', 'false', 'no', 'off'].includes(env.WASIKV_TLS)) {
      throw new UsageError(`$WASIKV_TLS: '${env.WASIKV_TLS}' is not true or false`);
    }
  }
  for (const [name, variable] of Object.entries(TLS_VARIABLES)) {
    if (env[variable]) out.tls[name] = { value: env[variable], source: `$${variable}` };
  }
  const positional = [];
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      if (arg.length > 1 && arg.startsWith('-')) throw new UsageError(`unknown flag '${arg}'`);
      positional.push(arg);
      continue;
    }
    let name = arg.slice(2);
    let value;
    const equals = name.indexOf('=');
    if (equals !== -1) {
      value = name.slice(equals + 1);
      name = name.slice(0, equals);
    }
    if (!Object.hasOwn(FLAGS, name)) throw new UsageError(`unknown flag '--${name}'`);
    const takesValue = FLAGS[name];
    if (!takesValue && value !== undefined) throw new UsageError(`--${name} takes no value`);
    if (takesValue && value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    apply(name, value ?? '', out);
  }
  if (out.help) return out;
  const tls = resolveTls(out.tls);
  if (tls !== undefined) out.options.tls = tls;
  if (out.watchEvents === undefined) {
    if (out.watchBuckets.length > 0) throw new UsageError('--watch-bucket needs --watch-events');
    if (out.watchTimeoutMs !== undefined) {
      throw new UsageError('--watch-timeout-ms needs --watch-events');
    }
  }
  if (positional.length === 0) throw new UsageError('missing the guest (GUEST.wasm)');
  if (positional.length > 1) {
    throw new UsageError(
      `unexpected argument '${positional[1]}'; pass export arguments with --arg`,
    );
  }
  out.guestPath = positional[0];
  return out;
}

function fail(code, message) {
  process.stderr.write(`wasikv-run: ${message}\n`);
  return code;
}

// --arg values as the export's parameters want them (jco: s32 and smaller
// are numbers, s64/u64 BigInts, bool a boolean).
function convertArgs(name, signature, args) {
  if (!signature) return args.map((n) => (BigInt(Number(n)) === n ? Number(n) : n));
  if (signature.params.length !== args.length) {
    throw new UsageError(
      `'${name}' takes ${signature.params.length} argument(s), got ${args.length}`,
    );
  }
  return args.map((n, i) => {
    switch (signature.params[i]) {
      case 'bigint':
        return n;
      case 'boolean':
        return n !== 0n;
      case 'number':
        return Number(n);
      default:
        throw new UsageError(
          `'${name}' argument ${i + 1} is a ${signature.params[i]}, which --arg cannot give`,
        );
    }
  });
}

function resultLines(value) {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(resultLines);
  if (typeof value === 'boolean') return [value ? '1' : '0'];
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') {
    return [String(value)];
  }
  return [JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v))];
}

function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

// Writes `text` to stdout and waits until it is written (a pipe's reader
// sees it before the watch phase begins).
function writeStdout(text) {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

function functionExports(component) {
  const functions = Object.keys(component.exports).filter(
    (key) => typeof component.exports[key] === 'function',
  );
  return functions.length === 0 ? '(no function exports)' : functions.join(', ');
}

// { witName, name, fn } of export `witName` (`name` as jco spells it), or
// an exit code after saying it is missing; `flag` is where the name came
// from (undefined: the default, run).
function findExport(component, parsed, jsName, witName, flag) {
  const name = jsName(witName);
  const fn = component.exports[name];
  if (typeof fn === 'function') return { witName, name, fn };
  const list = functionExports(component);
  return fail(
    EXIT_USAGE,
    flag === undefined
      ? `${parsed.guestPath} exports no run; choose one with --invoke: ${list}`
      : flag === '--invoke'
        ? `${parsed.guestPath} exports no function '${witName}'; function exports: ${list}`
        : `${parsed.guestPath} exports no function '${witName}' (${flag}); function exports: ${list}`,
  );
}

// Calls the export findExport found with `rawArgs` (the --arg values) and
// prints its results; the exit code.
async function invokeAndPrint(component, { witName, name, fn }, rawArgs) {
  let args;
  try {
    args = convertArgs(witName, component.functions[name], rawArgs);
  } catch (error) {
    return fail(EXIT_USAGE, messageOf(error));
  }
  let result;
  try {
    result = fn(...args);
  } catch (error) {
    return fail(EXIT_TRAP, `trap in '${witName}': ${messageOf(error)}`);
  }
  const lines = resultLines(result);
  if (lines.length > 0) await writeStdout(`${lines.join('\n')}\n`);
  return EXIT_OK;
}

// --watch-events: waits until the component's handlers have taken N events.
async function watchPhase(component, parsed) {
  const timeoutMs = parsed.watchTimeoutMs ?? DEFAULT_WATCH_TIMEOUT_MS;
  try {
    await component.watchDelivered(parsed.watchEvents, timeoutMs);
    return EXIT_OK;
  } catch (error) {
    const delivered = component.deliveredEvents;
    if (error?.code === 'ERR_WASIKV_WATCH_TIMEOUT') {
      return fail(
        EXIT_TRAP,
        `watch: ${delivered} of ${parsed.watchEvents} events delivered in ${timeoutMs} ms ` +
          '(--watch-timeout-ms)',
      );
    }
    return fail(
      EXIT_TRAP,
      `watch: delivery failed after ${delivered} of ${parsed.watchEvents} events: ` +
        messageOf(error),
    );
  }
}

// Whether `path` holds a core module rather than a component (false if it
// cannot be read: the loader says why).
async function holdsCoreModule(path, isCoreModule) {
  let file;
  try {
    file = await open(path, 'r');
    const { buffer, bytesRead } = await file.read(Buffer.alloc(8), 0, 8, 0);
    return isCoreModule(buffer.subarray(0, bytesRead));
  } catch {
    return false;
  } finally {
    await file?.close();
  }
}

async function run(parsed) {
  // Imported here so that --help and usage errors work without node_modules.
  let load;
  let jsName;
  try {
    const core = await import('../lib/run_core_module.mjs');
    if (await holdsCoreModule(parsed.guestPath, core.isCoreModule)) {
      load = core.loadCoreModule;
      jsName = (name) => name;
    } else {
      const components = await import('../lib/run_component.mjs');
      load = components.loadComponent;
      jsName = components.jsName;
    }
  } catch (error) {
    return fail(EXIT_USAGE, messageOf(error));
  }
  const watching = parsed.watchEvents !== undefined;
  let component;
  try {
    component = await load(parsed.guestPath, {
      ...parsed.options,
      ...(watching && {
        watch: { buckets: parsed.watchBuckets },
        // Reported through watchDelivered's rejection (watchPhase).
        onWatchError: () => {},
      }),
    });
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError || error?.code === 'ERR_WASIKV_TRAP') {
      return fail(EXIT_TRAP, `trap while loading ${parsed.guestPath}: ${messageOf(error)}`);
    }
    return fail(EXIT_USAGE, `${parsed.guestPath}: ${messageOf(error)}`);
  }
  try {
    const first = findExport(
      component,
      parsed,
      jsName,
      parsed.invoke ?? 'run',
      parsed.invoke === undefined ? undefined : '--invoke',
    );
    if (typeof first === 'number') return first;
    // Refused before anything runs, as a missing --invoke export is.
    let then;
    if (parsed.thenInvoke !== undefined) {
      then = findExport(component, parsed, jsName, parsed.thenInvoke, '--then-invoke');
      if (typeof then === 'number') return then;
    }

    let code = await invokeAndPrint(component, first, parsed.args);
    if (code === EXIT_OK && watching) code = await watchPhase(component, parsed);
    if (code === EXIT_OK && then !== undefined) code = await invokeAndPrint(component, then, []);
    return code;
  } finally {
    component.close();
  }
}

async function main() {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    fail(EXIT_USAGE, error.message);
    return fail(EXIT_USAGE, "see 'wasikv-run --help'");
  }
  if (parsed.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  return run(parsed);
}

// Exit explicitly: the WASI shim and gRPC may keep the process alive.
main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`wasikv-run: ${error?.stack ?? error}\n`);
    process.exit(EXIT_USAGE);
  },
);
