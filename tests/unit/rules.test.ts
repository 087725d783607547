/**
 * The small pure rules: settings validation, errors across a port, per-tab delivery, the tab's mirror. Each
 * test names the behaviour a mutant of these files would change.
 */
import { describe, expect, it } from 'vitest'
import {
  CallNotRingingError, HubClosedError, HubNotConnectedError, HubTimeoutError, InvalidInputError, TokenRejectedError,
  fromWire, outcomeOf, toWire, unwrap,
} from '../../protocol/errors'
import type { HubEvent, HubStatus } from '../../protocol/port'
import { MAX_FRAME_BYTES } from '../../protocol/wire'
import type { Invitation } from '../../protocol/wire'
import { createDelivery } from '../../core/delivery'
import { emptyMirror, leaveProfile, reduce, reduceAll } from '../../core/mirror'
import { defaultSettings, resolveSettings, settingBounds } from '../../core/settings'

describe('settings validation', () => {
  it('holds pongTimeout to its own bounds (1 s to 10 min)', () => {
    expect(resolveSettings({ pongTimeout: 5 }).settings.pongTimeout).toBe(settingBounds.pongTimeout[0])
    expect(resolveSettings({ pongTimeout: 3_600_000 }).settings.pongTimeout).toBe(600_000)
  })

  it('reports nothing for values used as given', () => {
    expect(resolveSettings({ linger: 5_000, ringTimeout: 30_000, retryBase: 1_000, maxRetryDelay: 60_000, pingAfter: 20_000, pongTimeout: 5_000, whenBusy: 'ring' }).problems).toEqual([])
  })

  it('keeps the default for a value that is not a number, and says so', () => {
    const { settings, problems } = resolveSettings({ linger: '10' as unknown as number })
    expect(settings.linger).toBe(defaultSettings.linger)
    expect(problems).toHaveLength(1)
  })

  it('accepts a cap equal to the base, without a problem', () => {
    const { settings, problems } = resolveSettings({ retryBase: 2_000, maxRetryDelay: 2_000 })
    expect(settings.maxRetryDelay).toBe(2_000)
    expect(problems).toEqual([])
  })

  it.each(['ring', 'wait', 'decline'] as const)("takes whenBusy '%s'", (whenBusy) => {
    expect(resolveSettings({ whenBusy }, { ...defaultSettings, whenBusy: whenBusy === 'wait' ? 'ring' : 'wait' }).settings.whenBusy).toBe(whenBusy)
  })

  it('refuses any other whenBusy, keeping the one it had', () => {
    const { settings, problems } = resolveSettings({ whenBusy: 'hold' as 'ring' })
    expect(settings.whenBusy).toBe('wait')
    expect(problems).toHaveLength(1)
  })

  it('takes a custom ping, with an answer or none', () => {
    expect(resolveSettings({ backend: { ping: { frame: 'p', answer: 'q' } } }).settings.backend.ping).toEqual({ frame: 'p', answer: 'q' })
    expect(resolveSettings({ backend: { ping: { frame: 'p', answer: null } } }).settings.backend.ping).toEqual({ frame: 'p', answer: null })
    expect(resolveSettings({ backend: {} }).settings.backend.ping).toEqual(defaultSettings.backend.ping)
  })

  it.each([
    ['no object', 'ping'],
    ['null', null],
    ['a frame that is not a string', { frame: 5, answer: 'q' }],
    ['an empty answer', { frame: 'p', answer: '' }],
    ['an answer that is not a string', { frame: 'p', answer: 5 }],
    ['a frame over the frame limit', { frame: 'x'.repeat(MAX_FRAME_BYTES + 1), answer: null }],
  ])('refuses a ping with %s, keeping the default', (_, ping) => {
    const { settings, problems } = resolveSettings({ backend: { ping: ping as never } })
    expect(settings.backend.ping).toEqual(defaultSettings.backend.ping)
    expect(problems).toHaveLength(1)
  })

  it('takes a ping frame exactly at the frame limit', () => {
    const frame = 'x'.repeat(MAX_FRAME_BYTES)
    expect(resolveSettings({ backend: { ping: { frame, answer: null } } }).settings.backend.ping).toEqual({ frame, answer: null })
  })
})

describe('errors across a port', () => {
  it.each([HubNotConnectedError, HubTimeoutError, HubClosedError, InvalidInputError, CallNotRingingError].map((Class) => [Class.name, Class] as const))('rebuild %s by name, with its message', (_, Class) => {
    const error = fromWire(toWire(new Class('[callhub] why')))
    expect(error).toBeInstanceOf(Class)
    expect([error.name, error.message]).toEqual([Class.name, '[callhub] why'])
  })

  it('a rejected token names its status and says to sign in again', () => {
    const error = new TokenRejectedError(401)
    expect(error.message).toContain('401')
    expect(error.message).toContain('sign in again')
  })

  it('carry a thrown value that is not an Error as a plain error with its text', () => {
    expect(toWire('boom')).toEqual({ name: 'Error', message: 'boom' })
  })

  it('outcomeOf reports a value, or a thrown error as a failed outcome; unwrap reverses it', async () => {
    expect(await outcomeOf(() => 5)).toEqual({ ok: true, value: 5 })
    const failed = await outcomeOf(() => {
      throw new HubTimeoutError('late')
    })
    expect(failed).toEqual({ ok: false, error: { name: 'HubTimeoutError', message: 'late' } })
    expect(unwrap({ ok: true, value: 'v' })).toBe('v')
    expect(() => unwrap(failed)).toThrow(HubTimeoutError)
  })
})

describe('delivery to one tab', () => {
  const status = (n: number): HubEvent => ({ type: 'log', line: String(n) })

  it('a failed deliver is reported once, and a successful one not at all', async () => {
    const errors: unknown[] = []
    let fail = true
    const delivery = createDelivery({
      deliver: () => (fail ? Promise.reject(undefined) : Promise.resolve()),
      resync: () => {}, onError: (error) => errors.push(error), schedule: (flush) => flush(),
    })
    delivery.push(status(1))
    await new Promise((resolve) => setTimeout(resolve, 0))
    fail = false
    delivery.push(status(2))
    await new Promise((resolve) => setTimeout(resolve, 0))
    // A rejection without a reason still says what failed.
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(Error)
  })

  it('schedules one flush per quiet spell, and none while a deliver is in flight', async () => {
    const flushes: Array<() => void> = []
    const batches: HubEvent[][] = []
    let finish = () => {}
    const delivery = createDelivery({
      deliver: (batch) => {
        batches.push(batch)
        return new Promise<void>((resolve) => (finish = resolve))
      },
      resync: () => {}, onError: () => {}, schedule: (flush) => flushes.push(flush),
    })
    delivery.push(status(1))
    delivery.push(status(2))
    expect(flushes).toHaveLength(1)
    flushes[0]!()
    delivery.push(status(3))
    expect(flushes).toHaveLength(1)
    // A stray flush while one is in flight sends nothing.
    flushes[0]!()
    expect(batches).toEqual([[status(1), status(2)]])
    finish()
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(batches).toEqual([[status(1), status(2)], [status(3)]])
  })

  it('a snapshot pushed by resync lands first, and the backlog is dropped only once', () => {
    const batches: HubEvent[][] = []
    let resyncs = 0
    const snapshot: HubEvent = { type: 'log', line: 'snapshot' }
    const flushes: Array<() => void> = []
    const delivery = createDelivery({
      deliver: (batch) => {
        batches.push(batch)
        return Promise.resolve()
      },
      resync: () => {
        resyncs += 1
        // The hub answers a resync by pushing a snapshot through the same delivery.
        delivery.push(snapshot)
      },
      onError: () => {}, schedule: (flush) => flushes.push(flush),
    })
    for (let n = 0; n < 1_000; n += 1) delivery.push(status(n))
    delivery.push(status(1_000))
    expect(resyncs).toBe(1)
    expect(delivery.queued()).toBe(2)
    for (let n = 1_001; n < 1_999; n += 1) delivery.push(status(n))
    expect(resyncs).toBe(1)
    flushes[0]!()
    expect(batches[0]![0]).toEqual(snapshot)
  })
})

describe('the mirror', () => {
  const call = (id: number): Invitation => ({
    callLogId: id, conversationId: null, callType: 'voice', from: { name: 'Bob', avatar: null, profileId: null, profileType: null },
    offer: null, expiresAt: null,
  })
  const open = (profileKey: string | null): HubStatus => ({ type: 'open', since: 1, profileKey, tabs: 1, lastClose: null })

  it('starts connecting, with nothing ringing or missed, as if a tab were in view', () => {
    expect(emptyMirror).toEqual({
      status: { type: 'connecting', attempt: 0, profileKey: null, tabs: 0, lastClose: null },
      calls: new Map(), missed: [], ringer: false, anyVisible: true,
    })
  })

  it('a snapshot of the same profile ends a call it no longer has as ended when it says no reason', () => {
    let mirror = reduce(emptyMirror, { type: 'snapshot', status: open('Tutor:1'), calls: [call(1)], missed: [], ended: [] }).mirror
    const step = reduce(mirror, { type: 'snapshot', status: open('Tutor:1'), calls: [], missed: [], ended: [] })
    mirror = step.mirror
    expect(step.emitted).toMatchObject([{ type: 'settled', settled: { callLogId: 1, reason: 'ended' } }])
  })

  it('a first snapshot with no profile ends the calls the tab showed as signed-out', () => {
    const before = { ...emptyMirror, calls: new Map([['1', call(1)]]) }
    const step = reduce(before, { type: 'snapshot', status: { ...open(null) }, calls: [], missed: [], ended: [] })
    expect(step.emitted).toMatchObject([{ type: 'settled', settled: { reason: 'signed-out' } }])
  })

  it('changes the ringer or the visibility alone, and keeps the same mirror when neither changed', () => {
    const ringing = reduce(emptyMirror, { type: 'ringer', ringer: true, anyVisible: true }).mirror
    expect([ringing.ringer, ringing.anyVisible]).toEqual([true, true])
    const hidden = reduce(ringing, { type: 'ringer', ringer: true, anyVisible: false }).mirror
    expect([hidden.ringer, hidden.anyVisible]).toEqual([true, false])
    expect(reduce(hidden, { type: 'ringer', ringer: true, anyVisible: false }).mirror).toBe(hidden)
  })

  it('passes messages, frames of a call, its end and log lines through, in order', () => {
    const step = reduceAll(emptyMirror, [
      { type: 'message', text: 'm' },
      { type: 'call-frame', callLogId: 1, text: 'f' },
      { type: 'call-ended', callLogId: 1, reason: 'hangup' },
      { type: 'log', line: 'l' },
    ])
    expect(step.emitted).toEqual([
      { type: 'message', text: 'm' },
      { type: 'call-frame', callLogId: 1, text: 'f' },
      { type: 'call-ended', callLogId: 1, reason: 'hangup' },
      { type: 'log', line: 'l' },
    ])
    expect(step.mirror).toBe(emptyMirror)
  })

  it('leaving the profile stops the ringing', () => {
    const ringing = { ...emptyMirror, ringer: true, calls: new Map([['1', call(1)]]) }
    expect(leaveProfile(ringing, { type: 'signed-out', profileKey: null, tabs: 0, lastClose: null }).mirror.ringer).toBe(false)
  })
})
