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

/**
 * The size of every chat frame, in bytes: a short chat message as the reference server relays it (the
 * sender, the time, and a line of text).
 */
export const CHAT_BYTES = 256
const CHAT_START = '{"type":"chat_message","id":"'

/** A chat message as the reference server relays it, with a bench id (`callId`) and its text padded to size. */
export function chatFrame(messageId: string): string {
  const frame = (text: string) => JSON.stringify({
    type: 'chat_message',
    id: messageId,
    from_profile_id: 1,
    from_profile_type: 'Student',
    from_name: 'Bench Sender',
    text,
    sent_at: '2026-01-01T00:00:00.000Z',
  })
  const padding = CHAT_BYTES - frame('').length
  if (padding < 0) throw new Error(`[bench] message id ${messageId} makes the frame larger than ${CHAT_BYTES} bytes`)
  return frame('Hello, '.padEnd(padding, 'x'))
}

/** The id after `start` in a frame that begins with it, read without parsing; null for any other frame. */
function idAfter(frame: string, start: string): string | null {
  if (!frame.startsWith(start)) return null
  const end = frame.indexOf('"', start.length)
  return end === -1 ? null : frame.slice(start.length, end)
}

/** The call id of a bench invitation frame; null for any other frame. */
export const invitationIdOf = (frame: string): string | null => idAfter(frame, FRAME_START)

/** The id of a bench chat frame; null for any other frame (the probe reads it in the pages too). */
export const chatIdOf = (frame: string): string | null => idAfter(frame, CHAT_START)
