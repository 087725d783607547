/**
 * The script-tag entry, built as `dist/callhub.global.js` (global `CallHub`) for pages without a bundler:
 *
 *   <script src="/static/callhub.global.js" data-auto></script>
 *
 * With `data-auto` it starts callhub with the platform's defaults (and `window.callHubOptions`, if the page set
 * them before) and sets `window.callHub`. Without it, the page calls `CallHub.connectCallHub(options)`. Either
 * way the worker is the `worker.js` beside this script, unless the options name another.
 */
import { connectCallHub as connect } from './index'
import type { CallHub, CallHubOptions } from './index'

export * from './index'

// Only while this script runs does `document.currentScript` point at it: read it now, not when a page calls.
const script = document.currentScript instanceof HTMLScriptElement ? document.currentScript : null
// The script's own URL, query and all dropped: pages that load `callhub.global.js?v=2` and `?v=3` still
// start the one worker, `…/worker.js`.
const besideScript = script?.src ? new URL('worker.js', script.src).href : undefined

export function connectCallHub(options: CallHubOptions = {}): CallHub {
  const worker = options.worker ?? besideScript
  if (worker === undefined) {
    throw new TypeError('[callhub] cannot tell where worker.js is: load callhub.global.js with a plain <script src>, or pass { worker: "/path/to/worker.js" }')
  }
  return connect({ ...options, worker })
}

interface CallHubWindow {
  callHub?: CallHub
  callHubOptions?: CallHubOptions
}

const page = window as Window & CallHubWindow
// A page that includes the script twice (a shared header, and the page's own) still gets one hub.
if (script?.hasAttribute('data-auto') && page.callHub === undefined) {
  const start = () => {
    page.callHub = connectCallHub(page.callHubOptions ?? {})
    // Like the platform's `websocket-ready`: scripts that ran before the hub can wait for this.
    dispatchEvent(new CustomEvent('callhub:ready', { detail: page.callHub }))
  }
  // In <head> there is no <body> yet to hold the dialog: start once the document is parsed.
  if (document.body === null) document.addEventListener('DOMContentLoaded', start, { once: true })
  else start()
}
