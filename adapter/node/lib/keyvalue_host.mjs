// wasi:keyvalue 0.2.0-draft and 0.2.0-draft2 as the host imports of a
// component transpiled by jco, served by wasikvd through the addon's
// Session (../addon/session_object.h). This file only adapts shapes; what
// each call means (policy, errors, handles, counters, cas) is the C++
// Session's.
//
// The shapes are those jco's generated bindings use (checked against the
// code jco 1.35 generates for these interfaces):
// - A resource is a JS class. jco accepts a value returned for own<bucket>
//   only if it is `instanceof` the class it was given, keeps the object in
//   its table while the guest holds the handle, hands the same object back
//   as `this` or as a borrow<bucket> argument, and on [resource-drop] calls
//   the object's [Symbol.dispose]() (Symbol.for('dispose') where
//   Symbol.dispose does not exist). Dispose is where the Session handle is
//   released. An own<cas> passed to `swap` is taken out of jco's table and
//   never disposed: swap consumes it.
// - `err` of a result is a thrown value with an own `payload` property
//   holding the variant: { tag: 'no-such-store' }, { tag: 'access-denied' },
//   { tag: 'other', val: message }; swap's cas-error is
//   { tag: 'store-error', val: <error> } or { tag: 'cas-failed', val: <Cas> }.
//   A thrown Error without `payload` is rethrown by jco: it traps the guest.
// - option<T> is T or undefined, list<u8> a Uint8Array, u64/s64 a BigInt,
//   a record a plain object, a tuple an array, static methods static.
import { loadAddon } from './addon.mjs';

export const KEYVALUE_VERSIONS = Object.freeze(['0.2.0-draft', '0.2.0-draft2']);

const IMPORTED_INTERFACES = ['store', 'atomics', 'batch'];

// Every wasi:keyvalue interface name this host serves, with its version.
export const KEYVALUE_IMPORTS = Object.freeze(
  KEYVALUE_VERSIONS.flatMap((version) =>
    IMPORTED_INTERFACES.map((name) => `wasi:keyvalue/${name}@${version}`),
  ),
);

// jco's `map` transpile option that makes a transpiled component look its
// wasi:keyvalue imports up by their versioned names, the keys
// keyValueImports returns. (Without it jco drops the version when a
// component imports only one, so draft and draft2 would share a key.)
export const KEYVALUE_TRANSPILE_MAP = Object.freeze(
  Object.fromEntries(KEYVALUE_IMPORTS.map((name) => [name, name])),
);

// What jco's generated code calls on [resource-drop].
const DISPOSE_SYMBOLS = [Symbol.dispose, Symbol.for('dispose')].filter(
  (symbol, index, all) => symbol !== undefined && all.indexOf(symbol) === index,
);

const HANDLE = Symbol('wasikv session handle');
// Only this module constructs resources; guests get them from open/new.
const CONSTRUCT = Symbol('wasikv construct');

const HOST_OPTION_NAMES = [
  'endpoint',
  'token',
  'tls',
  'defaultBucket',
  'allowedBuckets',
  'deniedBuckets',
  'maxHandles',
  'maxCallAllocationBytes',
  'timeoutMs',
  'listKeysPageSize',
];

// The Host options among `options` (see ../addon/host_object.h).
export function hostOptions(options = {}) {
  return Object.fromEntries(
    HOST_OPTION_NAMES.filter((name) => options[name] !== undefined).map((name) => [
      name,
      options[name],
    ]),
  );
}

// A resource class whose instances hold one Session handle and release it
// on dispose, once.
function resourceClass(name, release) {
  const Resource = class {
    constructor(token, handle) {
      if (token !== CONSTRUCT) {
        throw new TypeError(`${name} has no public constructor`);
      }
      Object.defineProperty(this, HANDLE, { value: handle, writable: true });
    }
  };
  Object.defineProperty(Resource, 'name', { value: name });
  for (const symbol of DISPOSE_SYMBOLS) {
    Object.defineProperty(Resource.prototype, symbol, {
      value: function dispose() {
        const handle = this[HANDLE];
        if (handle) {
          this[HANDLE] = 0;
          release(handle);
        }
      },
      writable: true,
      configurable: true,
    });
  }
  return Resource;
}

// The Session handle behind a resource argument. Anything else traps: a
// value that is not one of this host's resources, or one the guest dropped
// or gave to swap (jco does not check the handles a guest passes for host
// resources; it hands over whatever its table holds at that index).
function handleOf(Resource, value, what) {
  const handle = value instanceof Resource ? value[HANDLE] : undefined;
  if (!handle) {
    throw Object.assign(
      new Error(
        value instanceof Resource
          ? `${Resource.name} used after the guest dropped it (or gave it to swap)`
          : `${what} is not a ${Resource.name} of this host`,
      ),
      { code: 'ERR_WASIKV_TRAP' },
    );
  }
  return handle;
}

function casFailed(cas) {
  return Object.assign(new Error('cas failed: the key changed after cas.current'), {
    code: 'ERR_WASIKV_CAS_FAILED',
    payload: { tag: 'cas-failed', val: cas },
  });
}

// The store, atomics and batch interfaces of one version over `session`.
function interfacesFor(version, session) {
  const draft2 = version === '0.2.0-draft2';

  const Bucket = resourceClass('Bucket', (handle) => session.dropBucket(handle));
  const bucketHandle = (value, what = 'bucket') => handleOf(Bucket, value, what);
  Object.assign(Bucket.prototype, {
    get(key) {
      return session.get(bucketHandle(this, 'this'), key);
    },
    set(key, value) {
      session.set(bucketHandle(this, 'this'), key, value);
    },
    delete(key) {
      session.delete(bucketHandle(this, 'this'), key);
    },
    exists(key) {
      return session.exists(bucketHandle(this, 'this'), key);
    },
    listKeys(cursor) {
      const handle = bucketHandle(this, 'this');
      return draft2 ? session.listKeys(handle, cursor) : session.listKeysFrom(handle, cursor);
    },
  });

  const store = {
    Bucket,
    open(identifier) {
      return new Bucket(CONSTRUCT, session.open(identifier));
    },
  };

  const batch = {
    getMany(bucket, keys) {
      const values = session.getMany(bucketHandle(bucket), keys);
      return values.map((value, i) => (value === undefined ? undefined : [keys[i], value]));
    },
    setMany(bucket, keyValues) {
      session.setMany(bucketHandle(bucket), keyValues);
    },
    deleteMany(bucket, keys) {
      session.deleteMany(bucketHandle(bucket), keys);
    },
  };

  let atomics;
  if (!draft2) {
    atomics = {
      increment(bucket, key, delta) {
        return session.incrementUnsigned(bucketHandle(bucket), key, delta);
      },
    };
  } else {
    const Cas = resourceClass('Cas', (handle) => session.dropCas(handle));
    Object.defineProperty(Cas, 'new', {
      value: function newCas(bucket, key) {
        return new Cas(CONSTRUCT, session.newCas(bucketHandle(bucket), key));
      },
      writable: true,
      configurable: true,
    });
    Cas.prototype.current = function current() {
      return session.casCurrent(handleOf(Cas, this, 'this'));
    };
    atomics = {
      Cas,
      increment(bucket, key, delta) {
        return session.increment(bucketHandle(bucket), key, delta);
      },
      // Consumes `cas` whatever happens, as the Session does.
      swap(cas, value) {
        const handle = handleOf(Cas, cas, 'cas');
        cas[HANDLE] = 0;
        let fresh;
        try {
          fresh = session.swap(handle, value);
        } catch (error) {
          if (error !== null && typeof error === 'object' && Object.hasOwn(error, 'payload')) {
            error.payload = { tag: 'store-error', val: error.payload };
          }
          throw error;
        }
        if (fresh !== undefined) throw casFailed(new Cas(CONSTRUCT, fresh));
      },
    };
  }

  return {
    [`wasi:keyvalue/store@${version}`]: store,
    [`wasi:keyvalue/atomics@${version}`]: atomics,
    [`wasi:keyvalue/batch@${version}`]: batch,
  };
}

// A new Bucket of `version`'s store holding Session handle `handle`, the
// value jco accepts for an own<bucket> given to the guest (a watch event's).
function bucketFor(imports, version, handle) {
  const { Bucket } = imports[`wasi:keyvalue/store@${version}`];
  return new Bucket(CONSTRUCT, handle);
}

// The import object for one component instance: its wasi:keyvalue
// interfaces of both versions, keyed by versioned name (KEYVALUE_IMPORTS;
// transpile with KEYVALUE_TRANSPILE_MAP so jco asks for those keys), all on
// one new Session.
//
// options: the Host options (hostOptions above), or `host`, an addon Host to
// share one client connection between instances; `addonPath` to load a
// particular addon. The returned object also carries, not enumerable,
// `session` (the addon Session), `host`, `close()`, which releases every
// handle the instance holds (calls after it trap), and
// `openBucket(version, name)`, a new Bucket resource of that version's
// store for bucket `name` as resolved (session.openResolved), to hand to
// the guest's watcher.
export function keyValueImports(options = {}) {
  const addon = loadAddon(options.addonPath);
  const host = options.host ?? new addon.Host(hostOptions(options));
  const session = new addon.Session(host);
  const imports = {};
  for (const version of KEYVALUE_VERSIONS) Object.assign(imports, interfacesFor(version, session));
  Object.defineProperties(imports, {
    session: { value: session },
    host: { value: host },
    close: { value: () => session.close() },
    openBucket: {
      value: (version, name) => bucketFor(imports, version, session.openResolved(name)),
    },
  });
  return imports;
}
