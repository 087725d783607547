/**
 * The thundering-herd check of issue 3: 1,000 hubs whose sockets all drop at once (a server restart), each
 * running the real connection code over fake sockets and a fake clock. Reports the largest share of
 * reconnect attempts that falls in any 100 ms window of the first 5 s.
 */
import { createConnection } from '../worker/connection'
import { createFakeClock, socketFactory } from '../tests/unit/fakes'

export interface HerdOptions {
  hubs?: number
  /** How long the restarting server refuses connections, in ms. */
  downFor?: number
  /** The span measured after the drop, in ms. */
  horizon?: number
  /** The window whose busiest instance is reported, in ms. */
  window?: number
  seed?: number
}

export interface HerdReport {
  attempts: number
  busiestWindowAttempts: number
  busiestWindowShare: number
  /** When the last hub was connected again, in ms after the drop (null if some never did). */
  allBackAfter: number | null
  medianBackAfter: number
}

/** A small seeded PRNG (mulberry32), so the simulation is repeatable. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

export function simulateRestart(options: HerdOptions = {}): HerdReport {
  const { hubs = 1_000, downFor = 1_000, horizon = 5_000, window = 100, seed = 1 } = options
  const clock = createFakeClock(0)
  const random = seeded(seed)
  const timing = () => ({ retryBase: 500, maxRetryDelay: 30_000, pingAfter: 3_600_000, pongTimeout: 10_000 })
  const attemptTimes: number[] = []
  const backAt: number[] = []
  let dropAt = Number.POSITIVE_INFINITY
  const factories: Array<ReturnType<typeof socketFactory>> = []

  for (let hub = 0; hub < hubs; hub += 1) {
    const factory = socketFactory()
    factories.push(factory)
    let open = false
    createConnection({
      url: () => 'ws://herd.test/ws/1/Tutor',
      token: () => 'token',
      createSocket: (url) => {
        const socket = factory.createSocket(url)
        const now = clock.now()
        if (now >= dropAt) attemptTimes.push(now - dropAt)
        // The restarting server refuses connections for `downFor`, then accepts them.
        clock.setTimeout(() => (now < dropAt || now >= dropAt + downFor ? socket.open() : socket.drop(1006, '')), 1)
        return socket
      },
      clock,
      random,
      timing,
      online: true,
      onFrame: () => {},
      onState: (state) => {
        if (state.type === 'open' && !open && clock.now() > dropAt) backAt.push(clock.now() - dropAt)
        open = state.type === 'open'
      },
      log: () => {},
    })
  }
  // Every hub has been connected for a minute when the server restarts and drops all sockets at once.
  clock.advance(60_000)
  dropAt = clock.now()
  for (const factory of factories) factory.last().drop(1006, '')
  clock.advance(horizon)

  const inHorizon = attemptTimes.filter((time) => time < horizon).sort((a, b) => a - b)
  let busiest = 0
  for (let start = 0, end = 0; start < inHorizon.length; start += 1) {
    while (end < inHorizon.length && inHorizon[end]! < inHorizon[start]! + window) end += 1
    busiest = Math.max(busiest, end - start)
  }
  const sortedBack = [...backAt].sort((a, b) => a - b)
  return {
    attempts: inHorizon.length,
    busiestWindowAttempts: busiest,
    busiestWindowShare: inHorizon.length === 0 ? 0 : busiest / inHorizon.length,
    allBackAfter: sortedBack.length === hubs ? sortedBack[hubs - 1]! : null,
    medianBackAfter: sortedBack[Math.floor(sortedBack.length / 2)] ?? Number.NaN,
  }
}
