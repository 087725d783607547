/**
 * Starts (or joins) the origin's shared worker. Every page of an origin must use the same URL, name and
 * options, or the browser runs a second worker (and a second socket) or refuses to connect.
 */
export const WORKER_NAME = 'callhub'

export function startSharedWorker(): SharedWorker {
  // `type` must be a literal for Vite to bundle the worker. `extendedLifetime` (Chrome 148+) keeps the
  // worker, and so the socket and the linger, alive while the only tab reloads or navigates; browsers
  // without it ignore the member, so passing it everywhere is the feature detection.
  return new SharedWorker(new URL('../worker/entry.ts', import.meta.url), {
    type: 'module',
    name: WORKER_NAME,
    extendedLifetime: true,
  })
}
