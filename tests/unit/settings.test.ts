/** A profile session's settings: the defaults a user gets, and the bounds every requested value is held to. */
import { describe, expect, it } from 'vitest'
import { defaultSettings, resolveSettings, settingBounds } from '../../core/settings'
import { fromWire, toWire, CallNotRingingError, MessageDroppedError, TokenRejectedError } from '../../protocol/errors'

describe('settings', () => {
  it('default to a 3 s linger, 45 s rings, a 500 ms base and 30 s cap, a ping after 25 s and 10 s to answer it', () => {
    expect(defaultSettings).toMatchObject({ whenBusy: 'wait', linger: 3_000, ringTimeout: 45_000, retryBase: 500, maxRetryDelay: 30_000, pingAfter: 25_000, pongTimeout: 10_000 })
    expect(defaultSettings.backend).toEqual({ authFrame: true, acks: true, ping: { frame: '{"type":"ping"}', answer: 'pong' }, resends: true })
  })

  it('are held to their floors and ceilings, with a reason for each value not used as given', () => {
    const { settings, problems } = resolveSettings({ retryBase: 0, pingAfter: -5, linger: 3e9, ringTimeout: Number.NaN, pongTimeout: Infinity })
    expect(settings.retryBase).toBe(settingBounds.retryBase[0])
    expect(settings.pingAfter).toBe(settingBounds.pingAfter[0])
    expect(settings.linger).toBe(settingBounds.linger[1])
    expect(settings.ringTimeout).toBe(defaultSettings.ringTimeout)
    expect(settings.pongTimeout).toBe(defaultSettings.pongTimeout)
    expect(problems).toHaveLength(5)
  })

  it('use each value inside its range as given, and keep the default of a value that is not a number', () => {
    const inside = { linger: 0, ringTimeout: 60_000, retryBase: 1_000, maxRetryDelay: 60_000, pingAfter: 5_000, pongTimeout: 600_000 }
    expect(resolveSettings(inside)).toEqual({ settings: { ...defaultSettings, ...inside }, problems: [] })
    expect(resolveSettings({ pongTimeout: 600_001 }).settings.pongTimeout).toBe(600_000)
    const { settings, problems } = resolveSettings({ pingAfter: '5000' as unknown as number })
    expect(settings.pingAfter).toBe(defaultSettings.pingAfter)
    expect(problems).toEqual(['pingAfter 5000 is not a finite number: keeping 25000'])
  })

  it('never let the cap fall below the base', () => {
    expect(resolveSettings({ retryBase: 5_000, maxRetryDelay: 1_000 }).settings.maxRetryDelay).toBe(5_000)
  })

  it('take the backend options that make sense and keep the defaults for the rest', () => {
    const { settings, problems } = resolveSettings({ backend: { authFrame: false, ping: false, acks: 'yes' as unknown as boolean } })
    expect(settings.backend).toMatchObject({ authFrame: false, ping: null, acks: true, resends: true })
    expect(problems).toEqual(['backend.acks must be true or false: keeping true'])
    expect(resolveSettings({ backend: { ping: { frame: '', answer: 'pong' } } }).problems).toHaveLength(1)
  })

  it('keep the default ping unless one is asked for, and take only a ping with a frame and an answer that is text or null', () => {
    const ping = (value: unknown) => resolveSettings({ backend: { ping: value as { frame: string; answer: string | null } } })
    expect(resolveSettings({ backend: { acks: false } })).toEqual({ settings: { ...defaultSettings, backend: { ...defaultSettings.backend, acks: false } }, problems: [] })
    expect(ping({ frame: 'hb', answer: null }).settings.backend.ping).toEqual({ frame: 'hb', answer: null })
    expect(ping({ frame: 'hb', answer: 'hb-ack' }).settings.backend.ping).toEqual({ frame: 'hb', answer: 'hb-ack' })
    for (const refused of [{ answer: 'pong' }, { frame: 'hb', answer: 5 }, { frame: 'hb', answer: ['pong'] }, { frame: 'hb', answer: '' }, { frame: 'x'.repeat(64 * 1024 + 1), answer: null }, 'ping', null]) {
      const { settings, problems } = ping(refused)
      expect(settings.backend.ping).toEqual(defaultSettings.backend.ping)
      expect(problems).toEqual(['backend.ping must be false or { frame: string, answer: string | null }: keeping the default'])
    }
  })
})

describe('errors across a port', () => {
  it('keep their classes', () => {
    expect(fromWire(toWire(new CallNotRingingError('x')))).toBeInstanceOf(CallNotRingingError)
    expect(fromWire(toWire(new MessageDroppedError('x')))).toBeInstanceOf(MessageDroppedError)
    expect(fromWire(toWire(new TokenRejectedError(401)))).toBeInstanceOf(TokenRejectedError)
    const other = fromWire({ name: 'WeirdError', message: 'm' })
    expect([other.name, other.message, other instanceof Error]).toEqual(['WeirdError', 'm', true])
  })
})
