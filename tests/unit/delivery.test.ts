/** The per-tab delivery queue of a host: one deliver in flight, batching, the backlog cap and the resync. */
import { describe, expect, it } from 'vitest'
import type { HubEvent } from '../../protocol/port'
import { MAX_BACKLOG, MAX_MESSAGES, createDelivery } from '../../core/delivery'

const log = (n: number): HubEvent => ({ type: 'log', line: String(n) })

function setup() {
  const batches: HubEvent[][] = []
  const answers: Array<() => void> = []
  const scheduled: Array<() => void> = []
  let resyncs = 0
  const errors: unknown[] = []
  const delivery = createDelivery({
    deliver: (batch) => {
      batches.push(batch)
      return new Promise<void>((resolve) => answers.push(resolve))
    },
    resync: () => {
      resyncs += 1
      delivery.push({ type: 'log', line: 'snapshot' })
    },
    onError: (error) => errors.push(error),
    schedule: (flush) => scheduled.push(flush),
  })
  const runScheduled = () => {
    for (const flush of scheduled.splice(0)) flush()
  }
  const answer = async () => {
    answers.shift()!()
    await Promise.resolve()
    await Promise.resolve()
  }
  return { delivery, batches, runScheduled, answer, resyncs: () => resyncs, errors }
}

describe('delivery to one tab', () => {
  it('sends what arrives in one turn as one batch, at the end of the turn', () => {
    const { delivery, batches, runScheduled } = setup()
    delivery.push(log(1))
    delivery.push(log(2))
    expect(batches).toEqual([])
    runScheduled()
    expect(batches).toEqual([[log(1), log(2)]])
  })

  it('keeps one deliver in flight and batches what arrives meanwhile, in order', async () => {
    const { delivery, batches, runScheduled, answer } = setup()
    delivery.push(log(1))
    runScheduled()
    delivery.push(log(2))
    delivery.push(log(3))
    runScheduled()
    expect(batches).toHaveLength(1)
    await answer()
    expect(batches).toEqual([[log(1)], [log(2), log(3)]])
  })

  it(`drops a backlog of ${MAX_BACKLOG} events for a snapshot when the tab stops taking them`, async () => {
    const { delivery, batches, runScheduled, resyncs, answer } = setup()
    delivery.push(log(0))
    runScheduled()
    for (let n = 1; n <= MAX_BACKLOG; n += 1) delivery.push(log(n))
    expect(delivery.queued()).toBe(MAX_BACKLOG)
    expect(resyncs()).toBe(0)
    delivery.push(log(MAX_BACKLOG + 1))
    expect(resyncs()).toBe(1)
    expect(delivery.queued()).toBe(2)
    await answer()
    expect(batches[1]).toEqual([{ type: 'log', line: 'snapshot' }, log(MAX_BACKLOG + 1)])
  })

  it('goes on after a failed deliver, and reports the failure', async () => {
    const batches: HubEvent[][] = []
    const errors: unknown[] = []
    let fail = true
    const delivery = createDelivery({
      deliver: (batch) => {
        batches.push(batch)
        if (fail) {
          fail = false
          return Promise.reject(new Error('port closed'))
        }
        return Promise.resolve()
      },
      resync: () => {},
      onError: (error) => errors.push(error),
    })
    delivery.push(log(1))
    await new Promise((resolve) => setTimeout(resolve, 0))
    delivery.push(log(2))
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(batches).toEqual([[log(1)], [log(2)]])
    expect(errors).toHaveLength(1)
  })

  it('delivers nothing once released', () => {
    const { delivery, batches, runScheduled } = setup()
    delivery.push(log(1))
    delivery.release()
    runScheduled()
    delivery.push(log(2))
    runScheduled()
    expect(batches).toEqual([])
    expect(delivery.queued()).toBe(0)
  })
})

describe('messages to a tab that is behind', () => {
  const message = (n: number): HubEvent => ({ type: 'message', text: `{"type":"chat","n":${n}}` })

  it('are kept, in order, when its state backlog is replaced by a snapshot', async () => {
    const { delivery, batches, runScheduled, answer, resyncs } = setup()
    delivery.push(log(0))
    runScheduled()
    for (let n = 1; n <= 3_000; n += 1) delivery.push(n % 3 === 0 ? message(n) : log(n))
    expect(resyncs()).toBeGreaterThan(0)
    await answer()
    const delivered = batches[1]!.filter((event) => event.type === 'message')
    expect(delivered).toHaveLength(1_000)
    expect(delivered.map((event) => (event as { text: string }).text)).toEqual(Array.from({ length: 1_000 }, (_, index) => message((index + 1) * 3)).map((event) => (event as { text: string }).text))
  })

  it(`are never dropped for a burst (10,000 in a row), and past ${MAX_MESSAGES} the oldest go, with a line that says how many`, async () => {
    const { delivery, batches, runScheduled, answer, resyncs } = setup()
    delivery.push(log(0))
    runScheduled()
    for (let n = 1; n <= 10_000; n += 1) delivery.push(message(n))
    expect([delivery.queued(), resyncs()]).toEqual([10_000, 0])
    for (let n = 10_001; n <= MAX_MESSAGES + 5; n += 1) delivery.push(message(n))
    expect(delivery.queued()).toBe(MAX_MESSAGES)
    await answer()
    const batch = batches[1]!
    expect(batch[0]).toEqual(message(6))
    expect(batch.at(-1)).toEqual({ type: 'log', line: expect.stringContaining('dropped the 5 oldest messages') })
  })
})

describe('the frames of a call in progress', () => {
  it('are kept, in order, with the call\'s end, when the state backlog is replaced by a snapshot', async () => {
    const { delivery, batches, runScheduled, answer, resyncs } = setup()
    delivery.push(log(0))
    runScheduled()
    const frames: HubEvent[] = Array.from({ length: 5 }, (_, n) => ({ type: 'call-frame', callLogId: 7, text: `{"type":"ice","n":${n}}` }))
    const end: HubEvent = { type: 'call-ended', callLogId: 7, reason: 'ended' }
    for (const frame of frames) delivery.push(frame)
    delivery.push(end)
    for (let n = 1; n <= MAX_BACKLOG + 1; n += 1) delivery.push(log(n))
    expect(resyncs()).toBe(1)
    await answer()
    expect(batches[1]!.filter((event) => event.type !== 'log')).toEqual([...frames, end])
  })
})

describe('the snapshot', () => {
  it('is asked for again each time the backlog fills again', async () => {
    const { delivery, runScheduled, resyncs } = setup()
    delivery.push(log(0))
    runScheduled()
    for (let n = 1; n <= 3 * MAX_BACKLOG; n += 1) delivery.push(log(n))
    // At events 1,001, 1,999 and 2,997: each overflow leaves the snapshot and the newest event, which count
    // towards the next.
    expect(resyncs()).toBe(3)
    expect(delivery.queued()).toBeLessThanOrEqual(MAX_BACKLOG)
  })

  it('that pushes a whole backlog of its own is not compacted again while it is being made', async () => {
    const batches: HubEvent[][] = []
    let resyncs = 0
    const scheduled: Array<() => void> = []
    const delivery = createDelivery({
      deliver: (batch) => {
        batches.push(batch)
        return new Promise<void>(() => {})
      },
      resync: () => {
        resyncs += 1
        for (let n = 0; n < MAX_BACKLOG + 1; n += 1) delivery.push({ type: 'log', line: `snapshot ${n}` })
      },
      onError: () => {},
      schedule: (flush) => scheduled.push(flush),
    })
    delivery.push(log(0))
    for (const flush of scheduled.splice(0)) flush()
    for (let n = 1; n <= MAX_BACKLOG + 1; n += 1) delivery.push(log(n))
    expect(resyncs).toBe(1)
    expect(delivery.queued()).toBe(MAX_BACKLOG + 2)
  })
})
