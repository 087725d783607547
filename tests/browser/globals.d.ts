import type { CallHub, CallHubOptions } from '../../client'

declare global {
  interface Window {
    callHub: CallHub
    callHubOptions?: CallHubOptions
  }
}
