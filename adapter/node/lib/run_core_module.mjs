// Runs a WebAssembly core module on Node's V8 (the WebAssembly JS API), its
// wasi:keyvalue imports served by wasikvd through the addon's
// CoreModuleGuest (../addon/core_guest_object.h): the same canonical-ABI
// layer (CoreGuest) the wabt and wasm2c bindings use, so every generation
// works, the seed 001 world (u32 handles, which no component can have)
// included, with its handle-watch.
import { readFile } from 'node:fs/promises';

import { loadAddon } from './addon.mjs';
import { hostOptions } from './keyvalue_host.mjs';
import { WatchDelivery, watchOptions } from './watch_delivery.mjs';

// A module that could not be read, compiled, linked or instantiated for a
// reason other than a trap (a trap in a start function or initialiser is
// thrown as what it is: a WebAssembly.RuntimeError or an ERR_WASIKV_TRAP
// Error).
export class CoreModuleLoadError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'CoreModuleLoadError';
    this.code = 'ERR_WASIKV_LOAD';
  }
}

// Reactor initialisers, as core_abi.h's kInitializeExports.
const INITIALIZE_EXPORTS = ['_initialize', 'cm32p2_initialize'];

// True for the bytes of a core module (version 1) rather than a component.
export function isCoreModule(bytes) {
  return (
    bytes.length >= 8 &&
    bytes[0] === 0x00 &&
    bytes[1] === 0x61 &&
    bytes[2] === 0x73 &&
    bytes[3] === 0x6d &&
    bytes[4] === 1 &&
    bytes[5] === 0 &&
    bytes[6] === 0 &&
    bytes[7] === 0
  );
}

const VALUE_TYPES = { 0x7f: 'number', 0x7e: 'bigint', 0x7d: 'number', 0x7c: 'number' };

// The parameter and result types of the module's function exports, as
// loadComponent's `functions` spells them ({ params: ['number', 'bigint'],
// result }), read from the binary: Node 20's WebAssembly.Module.exports has
// no types. undefined for a module this small reader cannot follow.
export function functionSignatures(bytes) {
  let at = 8;
  const byte = () => {
    if (at >= bytes.length) throw new RangeError('truncated');
    return bytes[at++];
  };
  const leb = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = byte();
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
      shift += 7;
    }
  };
  const name = () => {
    const length = leb();
    const text = new TextDecoder().decode(bytes.subarray(at, at + length));
    at += length;
    return text;
  };
  const limits = () => {
    const flags = byte();
    leb();
    if (flags & 1) leb();
  };
  try {
    const types = [];
    const functionTypes = [];
    const signatures = {};
    while (at < bytes.length) {
      const id = byte();
      const size = leb();
      const end = at + size;
      if (id === 1) {
        for (let n = leb(); n > 0; --n) {
          if (byte() !== 0x60) return undefined;
          const params = Array.from({ length: leb() }, () => byte());
          const results = Array.from({ length: leb() }, () => byte());
          types.push({ params, results });
        }
      } else if (id === 2) {
        for (let n = leb(); n > 0; --n) {
          name();
          name();
          const kind = byte();
          if (kind === 0) functionTypes.push(leb());
          else if (kind === 1) (byte(), limits());
          else if (kind === 2) limits();
          else if (kind === 3) (byte(), byte());
          else if (kind === 4) (byte(), leb());
          else return undefined;
        }
      } else if (id === 3) {
        for (let n = leb(); n > 0; --n) functionTypes.push(leb());
      } else if (id === 7) {
        for (let n = leb(); n > 0; --n) {
          const exportName = name();
          const kind = byte();
          const index = leb();
          const type = kind === 0 ? types[functionTypes[index]] : undefined;
          if (type === undefined) continue;
          const spell = (code) => VALUE_TYPES[code] ?? 'unknown';
          signatures[exportName] = {
            params: type.params.map(spell),
            result: type.results.length === 0 ? 'void' : type.results.map(spell).join(', '),
          };
        }
      }
      at = end;
    }
    return signatures;
  } catch {
    return undefined;
  }
}

// Loads and instantiates the core module at `modulePath`, then runs its
// _initialize (or cm32p2_initialize) if it exports one.
//
// options: as loadComponent's (run_component.mjs): the Host options
// (endpoint, token, defaultBucket, allowedBuckets, deniedBuckets,
// maxHandles, maxCallAllocationBytes, timeoutMs, listKeysPageSize) or
// `host`, `addonPath`, and `watch: true | { buckets, maxQueuedEvents,
// watchOpenedBuckets, keepAlive }` with `onWatchError(error)`: changes to
// the buckets the module opens (and to `buckets`) reach its exported
// handlers (wasi:keyvalue/watcher on-set / on-delete of 0.2.0-draft or
// draft2, either mangling, or seed 001's wasi:keyvalue/handle-watch),
// lowered as on wabt (watch_delivery.h); a module without a pair is a
// CoreModuleLoadError.
//
// Returns { exports, functions, guest, session, openHandles(), close(),
// watchDelivered(n, timeoutMs), deliveredEvents }: `exports` the instance's
// own (names as the module spells them; i32 as numbers, i64 as BigInts),
// `functions` their types as loadComponent's, `guest` and `session` the
// addon's CoreModuleGuest (which has Session's watch methods and
// openHandles: handles of every kind the module holds), close() stopping
// delivery and releasing the handles. A call into the module that traps
// throws: a WebAssembly.RuntimeError, or an Error with code ERR_WASIKV_TRAP
// and the adapter's message when the adapter trapped it; the instance must
// not be used after either.
export async function loadCoreModule(modulePath, options = {}) {
  let bytes;
  try {
    bytes = await readFile(modulePath);
  } catch (error) {
    throw new CoreModuleLoadError(`cannot read the module: ${error.message}`, { cause: error });
  }
  if (!isCoreModule(bytes)) {
    throw new CoreModuleLoadError(
      'this is not a core module (a component? load it with loadComponent)',
    );
  }
  let module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (error) {
    throw new CoreModuleLoadError(`cannot compile the module: ${error.message}`, { cause: error });
  }
  const addon = loadAddon(options.addonPath);
  const host = options.host ?? new addon.Host(hostOptions(options));
  const guest = new addon.CoreModuleGuest(host);
  let delivery;
  try {
    let imports;
    try {
      imports = guest.importObject(WebAssembly.Module.imports(module));
    } catch (error) {
      if (error?.code !== 'ERR_WASIKV_LOAD') throw error;
      throw new CoreModuleLoadError(error.message, { cause: error });
    }
    // Watching starts before the module runs, so no open is missed.
    if (options.watch) {
      delivery = new WatchDelivery({
        session: guest,
        options: watchOptions(options.watch),
        onError: options.onWatchError,
      });
    }
    let instance;
    try {
      instance = await WebAssembly.instantiate(module, imports);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError || error?.code === 'ERR_WASIKV_TRAP') {
        throw error;
      }
      throw new CoreModuleLoadError(`cannot instantiate the module: ${error.message ?? error}`, {
        cause: error,
      });
    }
    try {
      guest.bind(instance.exports);
    } catch (error) {
      if (error?.code !== 'ERR_WASIKV_LOAD') throw error;
      throw new CoreModuleLoadError(error.message, { cause: error });
    }
    if (delivery !== undefined && guest.watchHandlers === undefined) {
      throw new CoreModuleLoadError(
        'watch delivery needs the module to export watch handlers (wasi:keyvalue/watcher ' +
          "on-set and on-delete, or seed 001's wasi:keyvalue/handle-watch)",
      );
    }
    const initialize = INITIALIZE_EXPORTS.find(
      (name) => typeof instance.exports[name] === 'function',
    );
    if (initialize !== undefined) instance.exports[initialize]();
    delivery?.attach((event) => guest.deliverEvent(event));
    return {
      exports: instance.exports,
      functions: functionSignatures(bytes) ?? {},
      guest,
      session: guest,
      openHandles: () => guest.openHandles(),
      close() {
        delivery?.stop();
        guest.close();
      },
      get deliveredEvents() {
        return delivery?.delivered ?? 0;
      },
      watchDelivered(count, timeoutMs) {
        if (delivery === undefined) {
          return Promise.reject(new Error('the module was loaded without watch'));
        }
        return delivery.whenDelivered(count, timeoutMs);
      },
    };
  } catch (error) {
    delivery?.stop();
    guest.close();
    throw error;
  }
}
