/// <reference path="./dom.d.ts" />
// (The published types are built from client/index.ts alone: this brings in `extendedLifetime`.)
/**
 * Starting (or joining) the one SharedWorker of the origin.
 *
 * A browser shares a SharedWorker between pages only when its script URL and its name are the same, so every
 * page of an origin must end up on the same URL here, or two hubs run with a socket each.
 */

/**
 * Where the worker script is, for apps that serve `callhub/worker` (`dist/worker.js`) themselves: an absolute
 * URL or path such as `'/static/callhub-worker.js'`, or a function that starts the `SharedWorker` (give it
 * `name: 'callhub'` and `type: 'module'` on every page).
 */
export type WorkerSource = string | URL | (() => SharedWorker)

export function startSharedWorker(source?: WorkerSource): SharedWorker {
  if (typeof source === 'function') return source()
  // A path relative to the page ('static/x.js') is a different URL on each directory's pages, so a hub per
  // directory: the README says to give it from the root.
  if (source !== undefined) return new SharedWorker(source, { type: 'module', name: 'callhub', extendedLifetime: true })
  // Bundlers (Vite, webpack 5) find the worker through this exact shape: `new SharedWorker(new URL(literal,
  // import.meta.url), { type: 'module' })`, `type` a literal. The library build rewrites the path to
  // './worker.js', the file beside the ESM entry. The name and options must be the same on every page, or
  // Chromium refuses to connect to the running worker. `extendedLifetime` (Chrome 148+) keeps the worker,
  // and so the socket and the linger, alive while the only tab reloads or navigates; browsers without it
  // ignore the member, so passing it everywhere is the feature detection.
  return new SharedWorker(new URL('../worker/entry.ts', import.meta.url), {
    type: 'module',
    name: 'callhub',
    extendedLifetime: true,
  })
}

/** Names the worker's script in a status or log line ("the shared worker … failed to load"). */
export function describeWorker(source?: WorkerSource): string {
  if (typeof source === 'function') return 'started by the `worker` option'
  if (source !== undefined) return String(source)
  // The bundler decides where the default lands, and repeating its `new URL(…)` here would make it emit a
  // second copy: name it by what it is.
  return "callhub's worker.js (bundled beside the callhub module)"
}
