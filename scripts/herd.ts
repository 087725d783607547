/**
 * Reconnect storms, simulated: 1,000 hubs, each running the real connection code with the default settings
 * over fake sockets and a fake clock, against a fake server that acknowledges auth and answers pings.
 * - `simulateRestart`: every socket drops at once (a server restart); the busiest 100 ms window of the
 *   first 5 s says how well the jitter spreads the herd.
 * - `simulateFlapping`: the server drops every socket every 2 s for 60 s; attempts per second per 1,000
 *   hubs say what a flapping server costs.
 */
import { createConnection } from '../core/connection'
import { defaultSettings } from '../core/settings'
import type { Settings } from '../core/settings'
import { createFakeClock, socketFactory } from '../tests/unit/fakes'
import type { FakeClock, FakeSocket } from '../tests/unit/fakes'

/** A small seeded PRNG (mulberry32), so the simulation is repeatable. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

interface Fleet {
  clock: FakeClock
  /** Every attempt's time (a socket created), in order. */
  attempts: number[]
  /** Per hub: the times its connection was accepted. */
  acceptedAt: number[][]
  /** Per hub: whether it is connected now. */
  open: boolean[]
  /** Drops every open socket at once, as a restarting server does. */
  dropAll(): void
}

/**
 * `accepting(now)` says whether the server takes a connection made at `now`. An accepted socket opens 1 ms
 * after it was made and is acknowledged 1 ms later; a refused one closes after 1 ms.
 */
function startFleet(hubs: number, seed: number, settings: Settings, accepting: (now: number) => boolean): Fleet {
  const clock = createFakeClock(0)
  const random = seeded(seed)
  const attempts: number[] = []
  const acceptedAt: number[][] = []
  const open: boolean[] = []
  const live = new Set<FakeSocket>()
  for (let hub = 0; hub < hubs; hub += 1) {
    const factory = socketFactory()
    const accepted: number[] = []
    acceptedAt.push(accepted)
    const index = open.push(false) - 1
    createConnection({
      url: () => 'ws://herd.test/ws/1/Tutor',
      token: () => 'token',
      settings: () => settings,
      createSocket: (url) => {
        const socket = factory.createSocket(url)
        const now = clock.now()
        attempts.push(now)
        clock.setTimeout(() => {
          if (!accepting(now)) return socket.drop(1006, '')
          socket.open()
          live.add(socket)
          clock.setTimeout(() => socket.receive({ type: 'ack', of: 'auth' }), 1)
        }, 1)
        // The server answers every ping at once.
        const send = socket.send.bind(socket)
        socket.send = (data) => {
          send(data)
          if (data.includes('"ping"')) clock.setTimeout(() => socket.receive({ type: 'pong' }), 1)
        }
        return socket
      },
      clock,
      random,
      online: true,
      onFrame: () => {},
      onState: (state) => {
        if (state.type === 'open') accepted.push(clock.now())
        open[index] = state.type === 'open'
      },
      log: () => {},
    })
  }
  return {
    clock,
    attempts,
    acceptedAt,
    open,
    dropAll() {
      for (const socket of live) if (socket.readyState === 1) socket.drop(1006, '')
      live.clear()
    },
  }
}

export interface RestartOptions {
  hubs?: number
  /** How long the restarting server refuses connections, in ms. */
  downFor?: number
  /** The span measured after the drop, in ms. */
  horizon?: number
  /** The window whose busiest instance is reported, in ms. */
  window?: number
  seed?: number
  settings?: Settings
}

export interface RestartReport {
  attempts: number
  busiestWindowAttempts: number
  busiestWindowShare: number
  /** When the last hub was connected again, in ms after the drop (null if some never did). */
  allBackAfter: number | null
  medianBackAfter: number
}

export function simulateRestart(options: RestartOptions = {}): RestartReport {
  const { hubs = 1_000, downFor = 1_000, horizon = 5_000, window = 100, seed = 1, settings = defaultSettings } = options
  let dropAt = Number.POSITIVE_INFINITY
  const fleet = startFleet(hubs, seed, settings, (now) => now < dropAt || now >= dropAt + downFor)
  // Every hub has been connected for a minute when the server restarts and drops all sockets at once.
  fleet.clock.advance(60_000)
  dropAt = fleet.clock.now()
  fleet.dropAll()
  fleet.clock.advance(horizon)

  const inHorizon = fleet.attempts.filter((time) => time >= dropAt && time < dropAt + horizon).map((time) => time - dropAt)
  let busiest = 0
  for (let start = 0, end = 0; start < inHorizon.length; start += 1) {
    while (end < inHorizon.length && inHorizon[end]! < inHorizon[start]! + window) end += 1
    busiest = Math.max(busiest, end - start)
  }
  const backAt = fleet.acceptedAt.map((times) => times.find((time) => time > dropAt)).filter((time): time is number => time !== undefined)
  const sortedBack = backAt.map((time) => time - dropAt).sort((a, b) => a - b)
  return {
    attempts: inHorizon.length,
    busiestWindowAttempts: busiest,
    busiestWindowShare: inHorizon.length === 0 ? 0 : busiest / inHorizon.length,
    allBackAfter: sortedBack.length === hubs ? sortedBack[hubs - 1]! : null,
    medianBackAfter: sortedBack[Math.floor(sortedBack.length / 2)] ?? Number.NaN,
  }
}

export interface FlappingOptions {
  hubs?: number
  /** The server drops every socket this often, in ms. */
  every?: number
  /** For this long, in ms. */
  duration?: number
  seed?: number
  settings?: Settings
}

export interface FlappingReport {
  /** Connection attempts per second per 1,000 hubs, over the flapping. */
  attemptsPerSecond: number
  /** The busiest single second, per 1,000 hubs. */
  peakPerSecond: number
  /** The share of the time a hub was connected, on average. */
  connectedShare: number
}

export function simulateFlapping(options: FlappingOptions = {}): FlappingReport {
  const { hubs = 1_000, every = 2_000, duration = 60_000, seed = 1, settings = defaultSettings } = options
  const fleet = startFleet(hubs, seed, settings, () => true)
  fleet.clock.advance(10_000)
  const start = fleet.clock.now()
  let connectedSamples = 0
  for (let at = every; at <= duration; at += every) {
    // Sample who is connected every 100 ms of the cycle.
    for (let step = 0; step < every; step += 100) {
      fleet.clock.advance(100)
      connectedSamples += fleet.open.filter(Boolean).length
    }
    fleet.dropAll()
  }
  const during = fleet.attempts.filter((time) => time >= start && time < start + duration)
  const perSecond = new Map<number, number>()
  for (const time of during) perSecond.set(Math.floor((time - start) / 1_000), (perSecond.get(Math.floor((time - start) / 1_000)) ?? 0) + 1)
  const scale = 1_000 / hubs
  return {
    attemptsPerSecond: (during.length / (duration / 1_000)) * scale,
    peakPerSecond: Math.max(0, ...perSecond.values()) * scale,
    connectedShare: connectedSamples / ((duration / 100) * hubs),
  }
}
