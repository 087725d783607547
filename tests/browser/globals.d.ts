import type { CallHub, CallHubOptions } from '../../client'

declare global {
  interface Window {
    callHub: CallHub
    callHubOptions?: CallHubOptions
    /** The script-tag build's global, on the bare page (bare-page.ts). */
    CallHub: typeof import('../../client/global')
  }
}
