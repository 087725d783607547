/**
 * The demo's call page part: a real WebRTC call over the hub's socket. The caller's offer travels in
 * `POST /api/calls`; the answer, ICE candidates and hang-up travel as frames of the call's session, which
 * the hub routes to the one tab that holds it (the callee's tab that answered, the caller's tab that dialled).
 * This is the shape the platform's call page takes over from `hub.accept` (see README, "After Accept").
 */
import type { CallHub, CallSession } from '../client'

type MediaState = 'connecting' | 'connected' | 'failed'

export interface DemoCall {
  pc: RTCPeerConnection
  session: CallSession
  /** Bytes received over RTP so far (for the tests: media flows). */
  inboundBytes(): Promise<number>
}

declare global {
  interface Window {
    demoCall?: DemoCall | null
  }
}

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)

export function startCalls(hub: CallHub, placeCall: (body: Record<string, unknown>) => Promise<{ call_log_id: number }>): (target: string, callType: 'voice' | 'video') => Promise<void> {
  // The callee's side: a call answered in this tab, from the dialog's Accept or from `hub.accept`.
  hub.on('session', (session) => {
    // A call placed without an offer (from the API, say) has no media to answer: it is just accepted.
    if (session.invitation !== null && session.invitation.offer !== null) void answer(session)
  })

  async function answer(session: CallSession): Promise<void> {
    const invitation = session.invitation!
    const pc = new RTCPeerConnection()
    const call = attach(session, pc, `with ${invitation.from.name}`)
    try {
      await addMedia(pc, invitation.callType)
      await call.setRemote(invitation.offer as RTCSessionDescriptionInit)
      const reply = await pc.createAnswer()
      await pc.setLocalDescription(reply)
      await session.send({ type: 'call_answer', answer: { type: reply.type, sdp: reply.sdp } })
    } catch (error) {
      console.error('[demo] could not answer the call:', error)
      await session.hangup('failed')
    }
    await call.done
  }

  /** The caller's side: the offer goes with the call; the answer comes back on this tab's session. */
  return async function dial(target, callType) {
    const [type, id] = target.split(':')
    const pc = new RTCPeerConnection()
    const early: RTCIceCandidateInit[] = []
    pc.onicecandidate = (event) => {
      if (event.candidate) early.push(event.candidate.toJSON())
    }
    await addMedia(pc, callType)
    const offer = await pc.createOffer()
    await pc.setLocalDescription(offer)
    const call = await placeCall({ to_profile_type: type, to_profile_id: Number(id), call_type: callType, offer: { type: offer.type, sdp: offer.sdp } })
    const session = await hub.session(call.call_log_id)
    const wired = attach(session, pc, `to ${target}`)
    // Candidates gathered before the call had an id go now.
    for (const candidate of early.splice(0)) void session.send({ type: 'ice_candidate', candidate })
    await wired.done
  }
}

async function addMedia(pc: RTCPeerConnection, callType: 'voice' | 'video'): Promise<void> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: callType === 'video' })
  for (const track of stream.getTracks()) pc.addTrack(track, stream)
  const local = $<HTMLVideoElement>('#local-video')
  if (local) local.srcObject = stream
}

/**
 * Wires a peer connection to a session and to the call panel. Candidates that arrive before the remote
 * description wait for it (the caller's first ones may come with the answer to Accept).
 */
function attach(session: CallSession, pc: RTCPeerConnection, who: string): { done: Promise<void>; setRemote(description: RTCSessionDescriptionInit): Promise<void> } {
  const waiting: RTCIceCandidateInit[] = []
  const setRemote = async (description: RTCSessionDescriptionInit) => {
    await pc.setRemoteDescription(description)
    for (const candidate of waiting.splice(0)) await pc.addIceCandidate(candidate).catch(() => {})
  }
  const addCandidate = (candidate: RTCIceCandidateInit) => {
    if (pc.remoteDescription === null) waiting.push(candidate)
    else void pc.addIceCandidate(candidate).catch(() => {})
  }
  return { done: wire(session, pc, who, setRemote, addCandidate), setRemote }
}

async function wire(
  session: CallSession, pc: RTCPeerConnection, who: string, setRemote: (description: RTCSessionDescriptionInit) => Promise<void>,
  addCandidate: (candidate: RTCIceCandidateInit) => void,
): Promise<void> {
  const panel = $('#call-panel')
  const state = $('#call-state')
  const remote = $<HTMLVideoElement>('#remote-video')
  const hangup = $<HTMLButtonElement>('#hangup')
  const show = (text: string, data: string) => {
    if (state) state.textContent = text
    if (panel) {
      panel.hidden = false
      panel.dataset.state = data
    }
  }
  show(`Call ${who}: connecting…`, 'connecting')
  window.demoCall = {
    pc,
    session,
    async inboundBytes() {
      let bytes = 0
      for (const report of (await pc.getStats()).values()) if (report.type === 'inbound-rtp') bytes += (report as { bytesReceived?: number }).bytesReceived ?? 0
      return bytes
    },
  }
  pc.onicecandidate = (event) => {
    if (event.candidate) void session.send({ type: 'ice_candidate', candidate: event.candidate.toJSON() }).catch(() => {})
  }
  pc.ontrack = (event) => {
    if (remote && event.streams[0]) remote.srcObject = event.streams[0]
  }
  // The backend records each side's media state (`GET /api/calls/{id}` shows it).
  let reported: MediaState | null = null
  const report = (media: MediaState) => {
    if (media === reported) return
    reported = media
    void session.send({ type: 'call_media', state: media }).catch(() => {})
  }
  report('connecting')
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'connected') {
      report('connected')
      show(`In a call ${who}`, 'connected')
    } else if (pc.connectionState === 'failed') report('failed')
  }
  session.on('message', (frame) => {
    if (frame.type === 'call_answer') void setRemote(frame.answer as RTCSessionDescriptionInit)
    else if (frame.type === 'ice_candidate') addCandidate(frame.candidate as RTCIceCandidateInit)
  })
  if (hangup) hangup.onclick = () => void session.hangup()
  const { reason } = await session.ended
  pc.close()
  for (const sender of pc.getSenders()) sender.track?.stop()
  if (window.demoCall?.session === session) window.demoCall = null
  show(`Call ${who} ended (${reason.replace(/_/g, ' ')})`, 'ended')
}
