// Runs a WebAssembly component on Node's V8: jco transpiles it to JS (once
// per component, cached by content), and it is instantiated with
// wasi:keyvalue served by wasikvd (keyvalue_host.mjs) and, if it imports
// any, the rest of WASI from jco's preview2-shim, sandboxed.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { KEYVALUE_TRANSPILE_MAP, keyValueImports } from './keyvalue_host.mjs';
import {
  WATCHER_EXPORTS,
  WatchDelivery,
  componentDeliver,
  watchOptions,
  watcherVersion,
} from './watch_delivery.mjs';

const require = createRequire(import.meta.url);
// Bump when the transpile options or the cache layout change.
const CACHE_FORMAT = 1;
const NAME = 'component';

// A component that could not be read, transpiled, linked or instantiated for
// a reason other than a trap. (A trap while instantiating, in a start
// function, is thrown as the WebAssembly.RuntimeError it is.)
export class ComponentLoadError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'ComponentLoadError';
    this.code = 'ERR_WASIKV_LOAD';
  }
}

// jco's name for an export: lower camel case of the WIT name
// ('check-spin' and 'check_spin' are both checkSpin).
export function jsName(witName) {
  return witName
    .split(/[-_]+/)
    .filter((part) => part !== '')
    .map((part, i) => (i === 0 ? part[0].toLowerCase() : part[0].toUpperCase()) + part.slice(1))
    .join('');
}

let jco;
// jco's entry point and version, from ../node_modules (npm ci).
function jcoPackage() {
  if (!jco) {
    let entry;
    try {
      entry = require.resolve('@bytecodealliance/jco');
    } catch (error) {
      throw new ComponentLoadError(
        `cannot find jco: run 'npm ci' in ${dirname(dirname(fileURLToPath(import.meta.url)))}`,
        { cause: error },
      );
    }
    const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8'));
    jco = { entry, version };
  }
  return jco;
}

function cacheRoot(options) {
  if (options.cacheDir) return options.cacheDir;
  if (process.env.WASIKV_NODE_CACHE) return process.env.WASIKV_NODE_CACHE;
  let user = 'user';
  try {
    user = String(userInfo().uid);
  } catch {
    // No passwd entry: one shared name is still correct, only less tidy.
  }
  return join(tmpdir(), `wasikv-node-${user}`);
}

// The parameter types of the root's function exports, from the TypeScript
// declarations jco writes ("run(): number," / "add(a: number, b: bigint): number,").
function functionSignatures(declarations) {
  const signatures = {};
  const root = declarations.match(/export interface Root \{([\s\S]*?)\n\}/);
  if (!root) return signatures;
  for (const line of root[1].split('\n')) {
    const match = line.match(/^\s*'?([\w$]+)'?\((.*)\):\s*(.*?),?\s*$/);
    if (!match) continue;
    const params = match[2].trim() === '' ? [] : match[2].split(',').map((p) => p.split(':').pop().trim());
    signatures[match[1]] = { params, result: match[3] };
  }
  return signatures;
}

// Transpiles `bytes` into the cache unless it is there: returns the
// directory and what the component imports and exports.
async function transpileCached(bytes, options) {
  const key = createHash('sha256')
    .update(`wasikv-node ${CACHE_FORMAT} jco ${jcoPackage().version}\0`)
    .update(bytes)
    .digest('hex');
  const dir = join(cacheRoot(options), key);
  try {
    return { dir, ...JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) };
  } catch {
    // Not cached (or half-written by a crashed run): transpile.
  }
  const { transpile } = await import(pathToFileURL(jcoPackage().entry).href);
  let result;
  try {
    result = await transpile(bytes, {
      name: NAME,
      instantiation: 'async',
      map: { ...KEYVALUE_TRANSPILE_MAP },
      quiet: true,
    });
  } catch (error) {
    throw new ComponentLoadError(`cannot transpile the component: ${error.message ?? error}`, {
      cause: error,
    });
  }
  const declarations = new TextDecoder().decode(result.files[`${NAME}.d.ts`] ?? new Uint8Array());
  const meta = {
    imports: result.imports,
    exports: result.exports,
    functions: functionSignatures(declarations),
  };
  // Written beside the final directory and renamed into place, so a reader
  // sees all of it or none; a concurrent writer's identical copy wins.
  const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    for (const [file, content] of Object.entries(result.files)) {
      await mkdir(dirname(join(staging, file)), { recursive: true });
      await writeFile(join(staging, file), content);
    }
    await writeFile(join(staging, 'meta.json'), JSON.stringify(meta));
    await rename(staging, dir).catch(async (error) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { dir, ...meta };
}

let wasiShim;
// preview2-shim's WASI, as jco's own dependency provides it, with no
// preopened directories, no environment and no network.
async function wasiImports(name) {
  if (!wasiShim) {
    const jcoRequire = createRequire(jcoPackage().entry);
    const { WASIShim } = await import(
      pathToFileURL(jcoRequire.resolve('@bytecodealliance/preview2-shim/instantiation')).href
    );
    wasiShim = new WASIShim({
      sandbox: { preopens: {}, env: {}, args: ['component'], enableNetwork: false },
    });
  }
  const at = name.indexOf('@');
  const imports = wasiShim.getImportObject(at === -1 ? undefined : { asVersion: name.slice(at + 1) });
  return imports[name];
}

// The import object for the imports the component names.
async function importObject(names, keyValue) {
  const imports = {};
  for (const name of names) {
    const provided =
      keyValue[name] ?? (name.startsWith('wasi:') ? await wasiImports(name) : undefined);
    if (provided === undefined) {
      throw new ComponentLoadError(`the component imports '${name}', which this host does not provide`);
    }
    imports[name] = provided;
  }
  return imports;
}

let instances = 0;

// Loads and instantiates the component at `componentPath`.
//
// options: the Host options of keyValueImports (endpoint, token,
// defaultBucket, allowedBuckets, deniedBuckets, maxHandles,
// maxCallAllocationBytes, timeoutMs, listKeysPageSize) or `host`;
// `addonPath`; `cacheDir` for the transpiled JS (default
// $WASIKV_NODE_CACHE, else <tmpdir>/wasikv-node-<uid>).
//
// Watch delivery (watch_delivery.mjs): `watch: true`, or an object
// { buckets, maxQueuedEvents, watchOpenedBuckets, keepAlive } (see the
// addon's session.watch), tells the component of every change to the
// buckets it opens (and to `buckets`, from now on) through its exported
// wasi:keyvalue/watcher (0.2.0-draft or 0.2.0-draft2; a component without
// one is a ComponentLoadError). Handlers run on the JS thread between other
// calls into the component. `onWatchError(error)` hears of the failure that
// stops delivery: a trap in a handler (code ERR_WASIKV_WATCH_TRAP, the
// component is dead then) or the feed's error (for example OUT_OF_RANGE).
//
// Returns { exports, functions, session, close(), watchDelivered(n,
// timeoutMs), deliveredEvents }: `exports` as jco names them (camelCase,
// see jsName), `functions` the parameter and result types of the function
// exports (as jco's TypeScript spells them: 'number', 'bigint', ...),
// `session` the addon Session serving the instance, close() stopping
// delivery and releasing its handles, watchDelivered a promise of n events
// delivered (WatchDelivery.whenDelivered; default timeout 30 s), and
// deliveredEvents how many so far. Throws ComponentLoadError, or the
// WebAssembly.RuntimeError of a trap while instantiating.
export async function loadComponent(componentPath, options = {}) {
  let bytes;
  try {
    bytes = await readFile(componentPath);
  } catch (error) {
    throw new ComponentLoadError(`cannot read the component: ${error.message}`, { cause: error });
  }
  // A core module (version 1) rather than a component (layer 1).
  if (bytes.length >= 8 && bytes.readUInt32LE(0) === 0x6d736100 && bytes.readUInt32LE(4) === 1) {
    throw new ComponentLoadError(
      'this is a core module, not a component: load it with loadCoreModule ' +
        '(run_core_module.mjs), or run it with wasikv-run (either runtime)',
    );
  }
  const transpiled = await transpileCached(bytes, options);
  let watchVersion;
  if (options.watch) {
    watchVersion = watcherVersion(transpiled.exports);
    if (watchVersion === undefined) {
      throw new ComponentLoadError(
        `watch delivery needs the component to export ${WATCHER_EXPORTS.join(' or ')}; it ` +
          `exports ${transpiled.exports.map(([name]) => name).join(', ') || 'nothing'}`,
      );
    }
  }
  const keyValue = keyValueImports(options);
  let delivery;
  try {
    // Watching starts before the component runs, so no open is missed.
    if (watchVersion !== undefined) {
      delivery = new WatchDelivery({
        session: keyValue.session,
        options: watchOptions(options.watch),
        onError: options.onWatchError,
      });
    }
    const imports = await importObject(transpiled.imports, keyValue);
    // A fresh module per instance: jco's generated module keeps state of its
    // instance at module level.
    const url = pathToFileURL(join(transpiled.dir, `${NAME}.js`));
    url.searchParams.set('instance', String(++instances));
    const { instantiate } = await import(url.href);
    const compile = async (file) => WebAssembly.compile(await readFile(join(transpiled.dir, file)));
    let exports;
    try {
      exports = await instantiate(compile, imports);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) throw error;
      throw new ComponentLoadError(`cannot instantiate the component: ${error.message ?? error}`, {
        cause: error,
      });
    }
    delivery?.attach(
      componentDeliver(
        exports[`wasi:keyvalue/watcher@${watchVersion}`],
        keyValue.openBucket,
        watchVersion,
      ),
    );
    return {
      exports,
      functions: transpiled.functions,
      session: keyValue.session,
      close() {
        delivery?.stop();
        keyValue.close();
      },
      get deliveredEvents() {
        return delivery?.delivered ?? 0;
      },
      watchDelivered(count, timeoutMs) {
        if (delivery === undefined) {
          return Promise.reject(new Error('the component was loaded without watch'));
        }
        return delivery.whenDelivered(count, timeoutMs);
      },
    };
  } catch (error) {
    delivery?.stop();
    keyValue.close();
    throw error;
  }
}
