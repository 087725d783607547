import type { CallHub, CallHubOptions, CallSession, HubSocket } from '../../client'

declare global {
  interface Window {
    callHub: CallHub
    callHubOptions?: CallHubOptions
    /** The demo's `hub.socket()`, for its chat widget written for a plain WebSocket. */
    chatWebSocket?: HubSocket
    /** The demo's call in progress (demo/call.ts). */
    demoCall?: { pc: RTCPeerConnection; session: CallSession; inboundBytes(): Promise<number> } | null
    /** The script-tag build's global, on the bare page (bare-page.ts). */
    CallHub: typeof import('../../client/global')
  }
}
