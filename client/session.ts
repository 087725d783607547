/**
 * A call in progress, held by the tab that answered it (`hub.accept`) or placed it (`hub.session`): the
 * frames of that call (answer, ICE candidates, hang-up…) come to this tab only, and what it sends carries
 * the call's id.
 */
import { isObject } from '../protocol/wire'
import type { CallLogId, Invitation } from '../protocol/wire'

export interface CallEnd {
  /** Why the call ended: `hangup` (either side), `tab_closed`, `busy`, `declined`, `signed_out`, … */
  reason: string
}

export interface CallSession {
  readonly callLogId: CallLogId
  /** The invitation (with its offer) for a call answered here; null for a call placed here. */
  readonly invitation: Invitation | null
  /** Writes a frame of this call (an object with a string `type`, or its JSON); the hub sets `call_log_id`. */
  send(frame: object | string): Promise<void>
  /** Every frame of this call, parsed, with its text. Returns the unsubscribe. */
  on(event: 'message', listener: (frame: Record<string, unknown>, text: string) => void): () => void
  /** Ends the call: the other party hears `call_ended` with the reason. @default reason 'hangup' */
  hangup(reason?: string): Promise<void>
  /** Settles when the call ends, here or there, with why. */
  readonly ended: Promise<CallEnd>
}

export interface SessionWire {
  send(callLogId: CallLogId, text: string): Promise<void>
  hangup(callLogId: CallLogId, reason: string): Promise<void>
}

/** The tab's side of one session; the client feeds it the frames the hub routes here. */
export interface SessionHandle {
  session: CallSession
  receive(text: string): void
  end(reason: string): void
}

export function createSession(callLogId: CallLogId, invitation: Invitation | null, wire: SessionWire): SessionHandle {
  const listeners = new Set<(frame: Record<string, unknown>, text: string) => void>()
  let finish!: (end: CallEnd) => void
  const ended = new Promise<CallEnd>((resolve) => (finish = resolve))
  let over = false
  const session: CallSession = {
    callLogId,
    invitation,
    send(frame) {
      if (over) return Promise.reject(new Error(`[callhub] call ${String(callLogId)} has ended`))
      return wire.send(callLogId, typeof frame === 'string' ? frame : JSON.stringify(frame))
    },
    on(_event, listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    async hangup(reason = 'hangup') {
      if (over) return
      await wire.hangup(callLogId, reason)
    },
    ended,
  }
  return {
    session,
    receive(text) {
      let frame: unknown
      try {
        frame = JSON.parse(text)
      } catch {
        return
      }
      if (!isObject(frame)) return
      for (const listener of [...listeners]) {
        try {
          listener(frame, text)
        } catch (error) {
          console.error('[callhub] a call session message listener threw:', error)
        }
      }
    },
    end(reason) {
      if (over) return
      over = true
      finish({ reason })
    },
  }
}
