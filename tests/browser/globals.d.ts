import type { CallHub, CallHubOptions, CallSession } from '../../client'

declare global {
  interface Window {
    callHub: CallHub
    callHubOptions?: CallHubOptions
    /** The demo's call in progress (demo/call.ts). */
    demoCall?: { pc: RTCPeerConnection; session: CallSession; inboundBytes(): Promise<number> } | null
  }
}
