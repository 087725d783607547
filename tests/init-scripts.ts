/**
 * Init scripts shared by the browser suite (Playwright's `addInitScript`) and the cross-engine suite (each
 * driver's own): each runs in the page before its scripts, and must be self-contained (it travels as text).
 * None touches a prototype: each sets or removes an own property of the page's window or navigator.
 */

/** A browser without SharedWorker (Chrome on Android, some WebViews). */
export const withoutSharedWorker = (): void => {
  Reflect.deleteProperty(window, 'SharedWorker')
}

/** Neither SharedWorker nor Web Locks: an own property of this page's navigator hides the browser's. */
export const withoutSharedWorkerOrWebLocks = (): void => {
  Reflect.deleteProperty(window, 'SharedWorker')
  Object.defineProperty(navigator, 'locks', { configurable: true, get: () => undefined })
}

/**
 * A page that dies without saying goodbye, as a crashed one does: `pagehide` listeners are dropped on their way
 * in, and counted in `window.dropped.pagehide`.
 */
export const withoutPagehide = (): void => {
  const add = window.addEventListener.bind(window)
  const dropped = { pagehide: 0 }
  Object.assign(window, { dropped })
  window.addEventListener = ((type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions) => {
    if (type === 'pagehide') return void (dropped.pagehide += 1)
    add(type, listener, options)
  }) as typeof window.addEventListener
}

/** How many `pagehide` listeners `withoutPagehide` dropped in this page. */
export const droppedPagehide = (): number => (window as unknown as { dropped: { pagehide: number } }).dropped.pagehide
