/**
 * The frames the bench sends. Every call frame has the same length whatever its comparator or sequence
 * number, so no comparator gets smaller frames: ids have a fixed width and the offer is padded.
 */

/** The size of every invitation frame, in bytes: about a video call's SDP offer. */
export const INVITATION_BYTES = 2_048
const ID_DIGITS = 7
const FRAME_START = '{"type":"call_invitation","call_log_id":"'

/** A fixed-width call id: a one-letter run prefix, a one-letter comparator tag, then the sequence number. */
export function callId(prefix: string, seq: number): string {
  return `${prefix}${String(seq).padStart(ID_DIGITS, '0')}`
}

export function invitationFrame(callLogId: string): string {
  const frame = (sdp: string) => JSON.stringify({
    type: 'call_invitation',
    call_log_id: callLogId,
    conversation_id: 7,
    call_type: 'video',
    from_name: 'Bench Caller',
    from_profile_id: 9,
    from_profile_type: 'Student',
    offer: { type: 'offer', sdp },
  })
  const padding = INVITATION_BYTES - frame('').length
  if (padding < 0) throw new Error(`[bench] call id ${callLogId} makes the frame larger than ${INVITATION_BYTES} bytes`)
  return frame('v=0 '.padEnd(padding, 'x'))
}

export function cancelFrame(callLogId: string): string {
  return JSON.stringify({ type: 'call_cancelled', call_log_id: callLogId })
}

/** The call id of a bench invitation frame, read without parsing it; null for any other frame. */
export function invitationIdOf(frame: string): string | null {
  if (!frame.startsWith(FRAME_START)) return null
  const end = frame.indexOf('"', FRAME_START.length)
  return end === -1 ? null : frame.slice(FRAME_START.length, end)
}
