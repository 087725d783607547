/** The tab's mirror: a pure reducer over the host's events. */
import { describe, expect, it } from 'vitest'
import type { HubStatus } from '../../protocol/port'
import type { Invitation } from '../../protocol/wire'
import { emptyMirror, leaveProfile, reduce, reduceAll } from '../../core/mirror'

const call = (id: number): Invitation => ({
  callLogId: id, conversationId: null, callType: 'voice', offer: null, expiresAt: 1,
  from: { name: `Caller ${id}`, avatar: null, profileId: null, profileType: null },
})
const open: HubStatus = { type: 'open', since: 1, profileKey: 'Tutor:1', tabs: 1, lastClose: null }

describe('the mirror', () => {
  it('adds a call once, and tells of it once', () => {
    const first = reduce(emptyMirror, { type: 'invitation', invitation: call(1) })
    expect([...first.mirror.calls.keys()]).toEqual(['1'])
    expect(first.emitted).toEqual([{ type: 'invitation', invitation: call(1) }])
    const again = reduce(first.mirror, { type: 'invitation', invitation: call(1) })
    expect(again.mirror).toBe(first.mirror)
    expect(again.emitted).toEqual([])
  })

  it('removes a settled call and tells why; a settle for an unknown call changes nothing', () => {
    const { mirror } = reduce(emptyMirror, { type: 'invitation', invitation: call(1) })
    const settled = { callLogId: 1, reason: 'cancelled' as const, here: false, invitation: call(1) }
    const step = reduce(mirror, { type: 'settled', settled })
    expect(step.mirror.calls.size).toBe(0)
    expect(step.emitted).toEqual([{ type: 'settled', settled }])
    expect(reduce(step.mirror, { type: 'settled', settled }).emitted).toEqual([])
  })

  it('applies a snapshot as a diff: calls gone end with the reason the hub remembers, new ones ring', () => {
    let mirror = reduceAll(emptyMirror, [
      { type: 'snapshot', status: open, calls: [call(1), call(2)], missed: [], ended: [] },
    ]).mirror
    const step = reduce(mirror, { type: 'snapshot', status: open, calls: [call(2), call(3)], missed: [], ended: [{ callLogId: 1, reason: 'taken' }] })
    mirror = step.mirror
    expect([...mirror.calls.keys()]).toEqual(['2', '3'])
    expect(step.emitted).toEqual([
      { type: 'settled', settled: { callLogId: 1, reason: 'taken', here: false, invitation: call(1) } },
      { type: 'invitation', invitation: call(3) },
    ])
  })

  it("ends the calls of another profile's snapshot as signed-out (a role switch)", () => {
    const { mirror } = reduce(emptyMirror, { type: 'snapshot', status: open, calls: [call(1)], missed: [], ended: [] })
    const parent = { ...open, profileKey: 'Parent:1' }
    const step = reduce(mirror, { type: 'snapshot', status: parent, calls: [], missed: [], ended: [] })
    expect(step.emitted).toMatchObject([{ type: 'settled', settled: { callLogId: 1, reason: 'signed-out' } }])
  })

  it('copies its calls at most once for a burst of a thousand invitations', () => {
    const events = Array.from({ length: 1_000 }, (_, n) => ({ type: 'invitation' as const, invitation: call(n) }))
    const step = reduceAll(emptyMirror, events)
    expect(step.mirror.calls.size).toBe(1_000)
    expect(step.emitted).toHaveLength(1_000)
    expect(emptyMirror.calls.size).toBe(0)
  })

  it('keeps the ringer, the missed list and the status as the hub says; messages and log lines pass through', () => {
    const step = reduceAll(emptyMirror, [
      { type: 'ringer', ringer: true, anyVisible: false },
      { type: 'missed', missed: [call(4)] },
      { type: 'status', status: open },
      { type: 'message', text: '{"type":"chat"}' },
    ])
    expect(step.mirror).toMatchObject({ ringer: true, anyVisible: false, missed: [call(4)], status: open })
    expect(step.emitted).toEqual([{ type: 'message', text: '{"type":"chat"}' }])
  })

  it('leaving the profile ends every call as signed-out and clears the rest', () => {
    const { mirror } = reduceAll(emptyMirror, [{ type: 'invitation', invitation: call(1) }, { type: 'missed', missed: [call(2)] }])
    const step = leaveProfile(mirror, { type: 'signed-out', profileKey: null, tabs: 0, lastClose: null })
    expect(step.mirror.calls.size).toBe(0)
    expect(step.mirror.missed).toEqual([])
    expect(step.emitted).toMatchObject([{ type: 'settled', settled: { reason: 'signed-out' } }])
  })
})
