/** The parser's edges: id and text limits, trimming, avatar schemes, offer depth, nacks. */
import { describe, expect, it } from 'vitest'
import { MAX_FRAME_BYTES, isObject, isSafeImageUrl, parseServerFrame, readId, utf8Length } from '../../protocol/wire'

const call = (extra: Record<string, unknown>) => JSON.stringify({ type: 'call_invitation', call_log_id: 1, from_name: 'A', ...extra })

describe('ids', () => {
  it('are trimmed, kept up to 128 characters, and refused beyond', () => {
    expect(readId('  c-9 ')).toBe('c-9')
    expect(readId('x'.repeat(128))).toBe('x'.repeat(128))
    expect(readId('x'.repeat(129))).toBeNull()
    expect(readId(Number.NaN)).toBeNull()
    expect(readId(true)).toBeNull()
  })
})

describe('optional text fields', () => {
  it('keep a profile type up to 128 characters, and drop an empty or longer one', () => {
    const type = (value: unknown) => {
      const parsed = parseServerFrame(call({ from_profile_type: value }))
      return parsed.type === 'invitation' ? parsed.invitation.from.profileType : 'rejected'
    }
    expect(type('Student')).toBe('Student')
    expect(type('x'.repeat(128))).toBe('x'.repeat(128))
    expect(type('x'.repeat(129))).toBeNull()
    expect(type('')).toBeNull()
    expect(type(5)).toBeNull()
  })

  it('read expires_at only from a date string', () => {
    const expiry = (value: unknown) => {
      const parsed = parseServerFrame(call({ expires_at: value }))
      return parsed.type === 'invitation' ? parsed.invitation.expiresAt : 'rejected'
    }
    expect(expiry(1_700_000_000_000)).toBeNull()
    // Date.parse would read the number 2026 as the year 2026.
    expect(expiry(2026)).toBeNull()
    expect(expiry('2026-01-01T00:00:00Z')).toBe(Date.parse('2026-01-01T00:00:00Z'))
  })
})

describe('avatars', () => {
  it.each(['https://x/a.png', 'HTTP://x/a.png', '/a.png', 'path/with:colon.png'])('allows %s', (url) => {
    expect(isSafeImageUrl(url)).toBe(true)
  })
  it.each(['xhttps://x/a.png', 'httpsx://x', 'javascript:https://x', ' data:x'])('refuses %s', (url) => {
    expect(isSafeImageUrl(url)).toBe(false)
  })
})

describe('offers', () => {
  const nested = (depth: number) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown

  it('are kept to 32 levels of nesting, and dropped beyond', () => {
    const offer = (depth: number) => {
      const parsed = parseServerFrame(call({ offer: nested(depth) }))
      return parsed.type === 'invitation' ? parsed.invitation.offer : 'rejected'
    }
    expect(offer(32)).not.toBeNull()
    expect(offer(33)).toBeNull()
  })

  it('a frame without one has a null offer', () => {
    const parsed = parseServerFrame(call({}))
    expect(parsed.type === 'invitation' && parsed.invitation.offer).toBeNull()
  })
})

describe('nacks', () => {
  it('carry the reason cut to 200 characters, or say refused', () => {
    expect(parseServerFrame(JSON.stringify({ type: 'nack', of: 'call_accepted', reason: 'r'.repeat(300) }))).toMatchObject({ reason: 'r'.repeat(200) })
    expect(parseServerFrame(JSON.stringify({ type: 'nack', of: 'call_accepted', reason: 5 }))).toMatchObject({ reason: 'refused' })
  })
})

describe('sizes', () => {
  it('counts UTF-8 bytes exactly near the limit, and any text over it in characters is over it', () => {
    expect(utf8Length('é'.repeat(30_000))).toBe(60_000)
    expect(utf8Length('a'.repeat(MAX_FRAME_BYTES))).toBe(MAX_FRAME_BYTES)
    expect(utf8Length('é'.repeat(MAX_FRAME_BYTES))).toBeGreaterThan(MAX_FRAME_BYTES)
  })

  it('isObject is true for plain objects only', () => {
    expect([isObject({}), isObject([]), isObject(null), isObject('x')]).toEqual([true, false, false, false])
  })
})

describe('frame types', () => {
  it('are kept up to 128 characters, and a frame with an empty or longer type is refused', () => {
    const parse = (type: string) => parseServerFrame(JSON.stringify({ type }))
    expect(parse('t'.repeat(128))).toMatchObject({ type: 'message', frameType: 't'.repeat(128) })
    expect(parse('t'.repeat(129))).toEqual({ type: 'rejected', reason: 'frame has no string type' })
    expect(parse('')).toEqual({ type: 'rejected', reason: 'frame has no string type' })
  })
})

describe('refusals', () => {
  it('take a frame of exactly the limit, and refuse one byte more', () => {
    const frameOf = (bytes: number) => {
      const text = JSON.stringify({ type: 'chat', body: '' })
      return JSON.stringify({ type: 'chat', body: 'b'.repeat(bytes - text.length) })
    }
    expect(frameOf(MAX_FRAME_BYTES).length).toBe(MAX_FRAME_BYTES)
    expect(parseServerFrame(frameOf(MAX_FRAME_BYTES))).toMatchObject({ type: 'message', frameType: 'chat' })
    expect(parseServerFrame(frameOf(MAX_FRAME_BYTES + 1))).toEqual({ type: 'rejected', reason: `frame of ${MAX_FRAME_BYTES + 1} bytes is over ${MAX_FRAME_BYTES}` })
  })

  it('say what was wrong with the frame', () => {
    const reason = (text: string) => {
      const parsed = parseServerFrame(text)
      return parsed.type === 'rejected' ? parsed.reason : parsed.type
    }
    expect(reason('{not json')).toBe('frame is not JSON')
    expect(reason('[1]')).toBe('frame is not a JSON object')
    expect(reason(JSON.stringify({ type: 'call_invitation', from_name: 'A' }))).toBe('call_invitation without a valid call_log_id')
    expect(reason(JSON.stringify({ type: 'call_ended', call_log_id: '' }))).toBe('call_ended without a valid call_log_id')
    expect(reason(JSON.stringify({ type: 'ack' }))).toBe('ack without the type it answers (of)')
    expect(reason(JSON.stringify({ type: 'chat', call_log_id: {} }))).toBe('chat with an invalid call_log_id')
  })
})
