// Watch delivery on Node: the addon's WatchFeed (session.watch /
// takeEvents, ../addon/session_object.h) supplies the changes, and this
// hands each, oldest first, on the JS thread, to a component's exported
// wasi:keyvalue/watcher (on-set, on-delete; componentDeliver) or to a core
// module's handlers (CoreModuleGuest.deliverEvent, which lowers it in C++).
//
// The feed's signal arrives between turns of the event loop, and events are
// handed over in batches from setImmediate callbacks, so a handler never
// runs while another call into the component is running (jco's calls are
// synchronous): delivery happens between the host's calls. For a
// component, each event's bucket is a new Bucket resource of the watcher's
// version, the handler's to drop (jco disposes it on [resource-drop]).
import { KEYVALUE_VERSIONS } from './keyvalue_host.mjs';

// Events handed to the guest per turn of the event loop.
const kBatch = 64;
const kDefaultTimeoutMs = 30_000;

// The watcher interfaces a component can export, as jco names its exports.
// (jco 1.35 exports an interface under its versioned name and again under
// its bare name, `watcher`; only the versioned one says which Bucket the
// handlers take.)
export const WATCHER_EXPORTS = Object.freeze(
  KEYVALUE_VERSIONS.map((version) => `wasi:keyvalue/watcher@${version}`),
);

// The wasi:keyvalue version of the watcher among jco's export list
// ([name, kind] pairs), or undefined when the component exports none.
export function watcherVersion(exportList) {
  const names = new Set(exportList.map(([name]) => name));
  return KEYVALUE_VERSIONS.find((version) => names.has(`wasi:keyvalue/watcher@${version}`));
}

const WATCH_OPTION_NAMES = ['buckets', 'watchOpenedBuckets', 'maxQueuedEvents', 'keepAlive'];

// session.watch()'s options from loadComponent's or loadCoreModule's
// `watch` (true or an object).
export function watchOptions(watch) {
  if (watch === true) return {};
  if (watch === null || typeof watch !== 'object') {
    throw new TypeError('options.watch must be true or an object');
  }
  return Object.fromEntries(
    WATCH_OPTION_NAMES.filter((name) => watch[name] !== undefined).map((name) => [
      name,
      watch[name],
    ]),
  );
}

function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

function watchError(code, message, cause) {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

// One component instance's delivery. Not reusable after stop() or a
// failure.
// deliver(event) for a component: a new Bucket of `version` for the
// event's bucket (openBucket(version, name), keyValueImports().openBucket),
// then the watcher export's onSet or onDelete.
export function componentDeliver(watcher, openBucket, version) {
  return (event) => {
    const bucket = openBucket(version, event.bucket);
    if (event.type === 'set') {
      watcher.onSet(bucket, event.key, event.value);
    } else {
      watcher.onDelete(bucket, event.key);
    }
  };
}

export class WatchDelivery {
  #session;
  #onError;
  #deliver;
  #delivered = 0;
  #error;
  #stopped = false;
  #scheduled = false;
  #waiters = new Set();

  // session: the instance's addon Session (or CoreModuleGuest, which has
  // the same watch methods). options: session.watch()'s ({ buckets,
  // watchOpenedBuckets, maxQueuedEvents, keepAlive }). onError(error), if
  // given, hears of the failure that stopped delivery. Watching starts now,
  // so create this before the guest runs anything; events wait until
  // attach().
  constructor({ session, options = {}, onError }) {
    this.#session = session;
    this.#onError = onError;
    session.watch(options, () => this.#schedule());
  }

  // deliver(event): hands one takeEvents() event to the guest's handler;
  // throwing is a trap in the handler. Delivery begins.
  attach(deliver) {
    this.#deliver = deliver;
    this.#schedule();
  }

  // Events the handlers have returned from.
  get delivered() {
    return this.#delivered;
  }

  // Resolves with the count once `count` events have been delivered.
  // Rejects with the failure that stopped delivery (a trap in a handler:
  // code ERR_WASIKV_WATCH_TRAP; the feed's error: its code, e.g.
  // OUT_OF_RANGE), or with code ERR_WASIKV_WATCH_TIMEOUT after `timeoutMs`.
  // The wait keeps Node alive.
  whenDelivered(count, timeoutMs = kDefaultTimeoutMs) {
    if (this.#delivered >= count) return Promise.resolve(this.#delivered);
    if (this.#error) return Promise.reject(this.#error);
    if (this.#stopped) {
      return Promise.reject(watchError('ERR_WASIKV_WATCH_STOPPED', 'watch delivery was stopped'));
    }
    return new Promise((resolve, reject) => {
      const waiter = { count, resolve, reject };
      waiter.timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          watchError(
            'ERR_WASIKV_WATCH_TIMEOUT',
            `${this.#delivered} of ${count} watch events delivered in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  // Stops watching; queued events are dropped and waiters rejected.
  stop() {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#session.unwatch();
    this.#rejectWaiters(
      this.#error ?? watchError('ERR_WASIKV_WATCH_STOPPED', 'watch delivery was stopped'),
    );
  }

  #schedule() {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(() => this.#drain());
  }

  // One batch. The feed signals only when its queue stops being empty, so a
  // full batch schedules the next one.
  #drain() {
    this.#scheduled = false;
    if (this.#stopped || this.#deliver === undefined) return;
    let events;
    try {
      events = this.#session.takeEvents(kBatch);
    } catch (error) {
      this.#fail(error);
      return;
    }
    for (const event of events) {
      try {
        this.#deliver(event);
      } catch (error) {
        this.#fail(
          watchError(
            'ERR_WASIKV_WATCH_TRAP',
            `watch handler for '${event.key}' in bucket '${event.bucket}': ${messageOf(error)}`,
            error,
          ),
        );
        return;
      }
      ++this.#delivered;
      this.#resolveWaiters();
    }
    if (events.length === kBatch) this.#schedule();
  }

  #fail(error) {
    this.#error = error;
    const heard = this.#waiters.size > 0 || this.#onError !== undefined;
    this.stop();
    if (this.#onError) {
      this.#onError(error);
    } else if (!heard) {
      process.emitWarning(`wasikv watch delivery stopped: ${messageOf(error)}`);
    }
  }

  #resolveWaiters() {
    for (const waiter of this.#waiters) {
      if (this.#delivered < waiter.count) continue;
      clearTimeout(waiter.timer);
      this.#waiters.delete(waiter);
      waiter.resolve(this.#delivered);
    }
  }

  #rejectWaiters(error) {
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.#waiters.clear();
  }
}
