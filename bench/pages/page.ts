/**
 * What the two comparator pages share with each other and with callhub: the platform's identity
 * convention, callhub's own frame parser, and callhub's own dialog. Only the transport differs.
 */
import { createDialogLayer } from '../../ui/dialog'
import { callKey, parseServerFrame } from '../../protocol/wire'
import type { Invitation } from '../../protocol/wire'
import type { BenchWindow, Probe } from './probe'

export interface SocketIdentity {
  url: string
  token: string
}

export function benchWindow(): BenchWindow & { benchProbe: Probe } {
  const page = window as unknown as BenchWindow
  if (page.benchProbe === undefined) throw new Error('[bench] the probe init script did not run')
  return page as BenchWindow & { benchProbe: Probe }
}

/** The platform's old page code: token → GET /api/me → active role → `/ws/{profile_id}/{Role}`. */
export async function resolveSocket(): Promise<SocketIdentity> {
  const token = localStorage.getItem('token') ?? localStorage.getItem('access_token')
  if (token === null) throw new Error('[bench] no token in localStorage')
  const response = await fetch('/api/me', { headers: { authorization: `Bearer ${token}` } })
  if (!response.ok) throw new Error(`[bench] /api/me answered ${response.status}`)
  const me = (await response.json()) as Record<string, unknown> & { roles: string[]; active_role: string | null }
  const role = localStorage.getItem('active_role') ?? me.active_role ?? me.roles[0]
  if (role === undefined) throw new Error('[bench] the user has no role')
  const profileId = me[`${role}_profile_id`]
  const type = role.charAt(0).toUpperCase() + role.slice(1)
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return { url: `${scheme}//${location.host}/ws/${String(profileId)}/${type}`, token }
}

/**
 * Turns raw frames into dialogs and probe reports the way callhub's client does once its worker has parsed
 * them: one dialog per ringing call, duplicates ignored, closed when the call ends. With `messages`, every
 * other frame goes to the page's message handler (the probe), as callhub's `hub.on('message')` does.
 */
export function createFrameHandler(page: BenchWindow & { benchProbe: Probe }, { messages }: { messages: boolean }): (raw: unknown) => void {
  const { benchProbe: probe, callHubOptions: options = {} } = page
  const ringing = new Map<string, Invitation>()
  const noAnswer = () => Promise.resolve()
  const dialogs = options.modal === false
    ? null
    : createDialogLayer({ onAccept: noAnswer, onDecline: noAnswer, onDismissMissed: noAnswer, strings: options.strings })
  return (raw) => {
    const frame = parseServerFrame(raw)
    if (frame.type === 'invitation') {
      const key = callKey(frame.invitation.callLogId)
      if (ringing.has(key)) return
      ringing.set(key, frame.invitation)
      dialogs?.render({ calls: ringing.values(), missed: [], ringer: false, sound: 'off' })
      probe.invitation(key)
    } else if (frame.type === 'end') {
      const key = callKey(frame.callLogId)
      const invitation = ringing.get(key)
      if (invitation === undefined) return
      ringing.delete(key)
      dialogs?.render({ calls: ringing.values(), missed: [], ringer: false, sound: 'off' })
      dialogs?.notice({ callLogId: invitation.callLogId, reason: frame.reason, here: false, invitation })
      probe.settled(key)
    } else if (frame.type === 'message' && messages) probe.message(frame.text)
  }
}

/** The old design's chat widget on its own socket: it parses every frame and handles what is not a call. */
export function createChatHandler(probe: Probe): (raw: unknown) => void {
  return (raw) => {
    const frame = parseServerFrame(raw)
    if (frame.type === 'message') probe.message(frame.text)
  }
}
