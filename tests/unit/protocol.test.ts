import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_FRAME_BYTES, MAX_NAME_LENGTH, isSafeImageUrl, parseServerFrame } from '../../protocol/wire'

const invitation = {
  type: 'call_invitation', call_log_id: 41, conversation_id: 7, call_type: 'video', from_name: 'Bob Bekele',
  from_avatar: '/avatars/bob.svg', from_profile_id: 1, from_profile_type: 'Student', offer: { sdp: 'v=0' },
  expires_at: '2026-11-24T10:00:00.000Z',
}

describe('parseServerFrame', () => {
  it('normalises a call_invitation', () => {
    expect(parseServerFrame(JSON.stringify(invitation))).toEqual({
      type: 'invitation',
      invitation: {
        callLogId: 41, conversationId: 7, callType: 'video',
        from: { name: 'Bob Bekele', avatar: '/avatars/bob.svg', profileId: 1, profileType: 'Student' },
        offer: { sdp: 'v=0' }, expiresAt: Date.parse('2026-11-24T10:00:00.000Z'),
      },
    })
  })

  it('accepts the older incoming_call frame with caller_name and caller_avatar', () => {
    const frame = { type: 'incoming_call', call_log_id: 'c-9', caller_name: '  Carol   Chala ', caller_avatar: 'https://cdn.example/c.png' }
    const parsed = parseServerFrame(JSON.stringify(frame))
    expect(parsed).toMatchObject({
      type: 'invitation',
      invitation: { callLogId: 'c-9', callType: 'voice', conversationId: null, from: { name: 'Carol Chala', avatar: 'https://cdn.example/c.png', profileId: null }, expiresAt: null },
    })
  })

  it('needs only call_log_id and a caller name', () => {
    expect(parseServerFrame('{"type":"call_invitation","call_log_id":1,"from_name":"A"}').type).toBe('invitation')
    expect(parseServerFrame('{"type":"call_invitation","call_log_id":1}')).toMatchObject({ type: 'rejected', reason: expect.stringContaining('caller name') })
    expect(parseServerFrame('{"type":"call_invitation","from_name":"A"}')).toMatchObject({ type: 'rejected', reason: expect.stringContaining('call_log_id') })
    expect(parseServerFrame('{"type":"call_invitation","call_log_id":"","from_name":"A"}').type).toBe('rejected')
    expect(parseServerFrame('{"type":"call_invitation","call_log_id":1,"from_name":"   "}').type).toBe('rejected')
  })

  it('cuts a caller name to 100 characters without splitting a surrogate pair', () => {
    const parsed = parseServerFrame(JSON.stringify({ ...invitation, from_name: '😀'.repeat(150) }))
    if (parsed.type !== 'invitation') throw new Error(parsed.type)
    expect(Array.from(parsed.invitation.from.name)).toHaveLength(MAX_NAME_LENGTH)
    expect(parsed.invitation.from.name).toBe('😀'.repeat(100))
  })

  it('drops unsafe avatars and bad optional fields without rejecting the call', () => {
    const parsed = parseServerFrame(JSON.stringify({ ...invitation, from_avatar: 'javascript:alert(1)', call_type: 'hologram', expires_at: 'soon', conversation_id: [] }))
    expect(parsed).toMatchObject({ type: 'invitation', invitation: { callType: 'voice', expiresAt: null, conversationId: null, from: { avatar: null } } })
  })

  it('maps the frames that end a call, keeping their text for the tab that holds the call', () => {
    const cancelled = '{"type":"call_cancelled","call_log_id":3}'
    expect(parseServerFrame(cancelled)).toEqual({ type: 'end', callLogId: 3, reason: 'cancelled', text: cancelled, detail: null })
    expect(parseServerFrame('{"type":"call_ended","call_log_id":3,"reason":"tab_closed"}')).toMatchObject({ detail: 'tab_closed' })
    expect(parseServerFrame('{"type":"call_ended","call_log_id":3}')).toMatchObject({ type: 'end', callLogId: 3, reason: 'ended' })
    expect(parseServerFrame('{"type":"call_taken","call_log_id":"3"}')).toMatchObject({ type: 'end', callLogId: '3', reason: 'taken' })
    expect(parseServerFrame('{"type":"call_taken"}').type).toBe('rejected')
  })

  it('passes every other frame through as a message, with its exact text and its call id', () => {
    const chat = '{"type":"chat_message","text":"hi"}'
    expect(parseServerFrame(chat)).toEqual({ type: 'message', frameType: 'chat_message', callLogId: null, text: chat })
    const answer = '{"type":"call_answer","call_log_id":41,"answer":{"sdp":"v=0"}}'
    expect(parseServerFrame(answer)).toEqual({ type: 'message', frameType: 'call_answer', callLogId: 41, text: answer })
    expect(parseServerFrame('{"type":"pong"}')).toMatchObject({ type: 'message', frameType: 'pong' })
    expect(parseServerFrame('{"type":"call_answer","call_log_id":{}}').type).toBe('rejected')
  })

  it('reads acks and nacks, with what they answer', () => {
    expect(parseServerFrame('{"type":"ack","of":"auth"}')).toEqual({ type: 'ack', of: 'auth', callLogId: null })
    expect(parseServerFrame('{"type":"ack","of":"call_accepted","call_log_id":7}')).toEqual({ type: 'ack', of: 'call_accepted', callLogId: 7 })
    expect(parseServerFrame('{"type":"nack","of":"call_accepted","call_log_id":7,"reason":"call is cancelled"}'))
      .toEqual({ type: 'nack', of: 'call_accepted', callLogId: 7, reason: 'call is cancelled' })
    expect(parseServerFrame('{"type":"ack"}').type).toBe('rejected')
  })

  it('keeps integer ids integers and string ids strings', () => {
    const parsed = parseServerFrame('{"type":"call_invitation","call_log_id":41,"conversation_id":"c-7","from_name":"A"}')
    expect(parsed.type === 'invitation' && [parsed.invitation.callLogId, parsed.invitation.conversationId]).toEqual([41, 'c-7'])
  })

  it('removes control and bidi-override characters from caller names', () => {
    const parsed = parseServerFrame(JSON.stringify({ type: 'call_invitation', call_log_id: 1, from_name: 'Bob Bekele\u202Egnp.exe\u0007' }))
    expect(parsed.type === 'invitation' && parsed.invitation.from.name).toBe('Bob Bekelegnp.exe')
  })

  it.each([
    ['binary', new ArrayBuffer(4)], ['empty', ''], ['not JSON', '{"type":'], ['an array', '[1]'], ['null', 'null'],
    ['a number', '5'], ['no type', '{"call_log_id":1}'], ['a non-string type', '{"type":5}'],
    ['a prototype key', '{"__proto__":{"type":"call_invitation","call_log_id":1,"from_name":"A"}}'],
    ['too large', JSON.stringify({ ...invitation, offer: 'x'.repeat(MAX_FRAME_BYTES) })],
    ['too large in UTF-8', JSON.stringify({ ...invitation, offer: 'é'.repeat(MAX_FRAME_BYTES / 2) })],
  ])('rejects %s with a reason', (_, raw) => {
    const parsed = parseServerFrame(raw)
    expect(parsed.type).toBe('rejected')
    if (parsed.type === 'rejected') expect(parsed.reason.length).toBeGreaterThan(5)
  })

  it('drops an offer nested too deep, keeping the call', () => {
    const deep = '['.repeat(500) + ']'.repeat(500)
    const parsed = parseServerFrame(`{"type":"call_invitation","call_log_id":1,"from_name":"A","offer":${deep}}`)
    expect(parsed).toMatchObject({ type: 'invitation', invitation: { offer: null } })
  })

  // Issue 3: 100,000 hostile frames. It never throws, and never yields a call without an id and a name.
  it('survives 100,000 generated hostile frames', () => {
    const key = fc.constantFrom(
      'type', 'call_log_id', 'from_name', 'caller_name', 'from_avatar', 'caller_avatar', 'offer', 'expires_at',
      'call_type', 'conversation_id', '__proto__', 'constructor', 'prototype', 'toString',
    )
    const type = fc.constantFrom('call_invitation', 'incoming_call', 'call_cancelled', 'call_ended', 'call_taken', 'pong', '', 'x')
    const huge = fc.integer({ min: 60_000, max: 70_000 }).map((length) => 'n'.repeat(length))
    const value = fc.oneof(
      { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 10 },
      { arbitrary: type, weight: 5 },
      { arbitrary: fc.string({ maxLength: 300 }), weight: 10 },
      { arbitrary: huge, weight: 1 },
    )
    const object = fc.dictionary(fc.oneof(key, fc.string({ maxLength: 12 })), value, { maxKeys: 12 })
    const raw = fc.oneof(
      object.map((frame) => JSON.stringify(frame)),
      fc.record({ type, call_log_id: value, from_name: value, caller_name: value, offer: value }, { requiredKeys: [] }).map((frame) => JSON.stringify(frame)),
      fc.jsonValue({ maxDepth: 3 }).map((frame) => JSON.stringify(frame)),
      fc.string({ maxLength: 200 }),
      fc.integer({ min: 1, max: 3_000 }).map((depth) => `{"type":"call_invitation","call_log_id":1,"from_name":"A","offer":${'['.repeat(depth)}${']'.repeat(depth)}}`),
      fc.anything({ maxDepth: 3 }),
    )
    fc.assert(
      fc.property(raw, (input) => {
        const parsed = parseServerFrame(input)
        if (parsed.type === 'invitation') {
          const { callLogId, from } = parsed.invitation
          expect(typeof callLogId === 'number' ? Number.isFinite(callLogId) : callLogId.length > 0).toBe(true)
          expect(from.name.trim().length).toBeGreaterThan(0)
          expect(Array.from(from.name).length).toBeLessThanOrEqual(MAX_NAME_LENGTH)
          if (from.avatar !== null) expect(isSafeImageUrl(from.avatar)).toBe(true)
        }
      }),
      // `npm run mutate` runs fewer (vitest.mutate.config.ts): it runs this test once per mutant of the parser.
      { numRuns: Number(process.env.CALLHUB_FUZZ_RUNS ?? 100_000) },
    )
  }, 120_000)
})

describe('isSafeImageUrl', () => {
  it.each(['https://cdn.example/a.png', 'http://x/a.png', '/avatars/a.svg', 'a.png', '//cdn.example/a.png'])('allows %s', (url) => {
    expect(isSafeImageUrl(url)).toBe(true)
  })
  it.each(['javascript:alert(1)', 'data:image/svg+xml,<svg/>', ' JAVASCRIPT:x', 'blob:https://x/1', 'java\u0000script:x'])('refuses %s', (url) => {
    expect(isSafeImageUrl(url)).toBe(false)
  })
})
