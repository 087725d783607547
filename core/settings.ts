/** A profile session's settings: the defaults, and the floors and ceilings every requested value is held to. */
import type { BackendOptions, HubSettings } from '../protocol/port'
import { MAX_FRAME_BYTES, utf8Length } from '../protocol/wire'

export interface Backend {
  authFrame: boolean
  acks: boolean
  ping: { frame: string; answer: string | null } | null
  resends: boolean
}

export type WhenBusy = 'ring' | 'wait' | 'decline'

export interface Settings {
  whenBusy: WhenBusy
  linger: number
  ringTimeout: number
  retryBase: number
  maxRetryDelay: number
  pingAfter: number
  pongTimeout: number
  backend: Backend
}

export const defaultBackend: Backend = {
  authFrame: true,
  acks: true,
  ping: { frame: '{"type":"ping"}', answer: 'pong' },
  resends: true,
}

export const defaultSettings: Settings = {
  whenBusy: 'wait',
  linger: 3_000,
  ringTimeout: 45_000,
  retryBase: 500,
  maxRetryDelay: 30_000,
  pingAfter: 25_000,
  pongTimeout: 10_000,
  backend: defaultBackend,
}

type Timing = Exclude<keyof Settings, 'backend' | 'whenBusy'>

/**
 * The range each timing is held to. The floors keep one careless page from turning a profile's socket into
 * dozens of upgrades a second; the ceilings keep timers meaningful (and far below setTimeout's 2^31 ms).
 */
export const settingBounds: Record<Timing, readonly [min: number, max: number]> = {
  linger: [0, 3_600_000],
  ringTimeout: [1_000, 3_600_000],
  retryBase: [100, 60_000],
  maxRetryDelay: [1_000, 3_600_000],
  pingAfter: [1_000, 3_600_000],
  pongTimeout: [1_000, 600_000],
}

export interface Resolved {
  settings: Settings
  /** One line per requested value that was not used as given, for the log. */
  problems: string[]
}

/** Requested settings held to their bounds; a value that is not a finite number keeps its default. */
export function resolveSettings(requested: HubSettings = {}, base: Settings = defaultSettings): Resolved {
  const problems: string[] = []
  const settings: Settings = { ...base }
  for (const name of Object.keys(settingBounds) as Timing[]) {
    const value = requested[name]
    if (value === undefined) continue
    const [min, max] = settingBounds[name]
    // Not only NaN and ±Infinity: a string or any other non-number from a plain page is not finite either.
    if (!Number.isFinite(value)) {
      problems.push(`${name} ${String(value)} is not a finite number: keeping ${base[name]}`)
      continue
    }
    const held = Math.min(max, Math.max(min, value))
    if (held !== value) problems.push(`${name} ${value} is outside ${min}–${max} ms: using ${held}`)
    settings[name] = held
  }
  if (settings.maxRetryDelay < settings.retryBase) {
    problems.push(`maxRetryDelay ${settings.maxRetryDelay} is below retryBase ${settings.retryBase}: using ${settings.retryBase}`)
    settings.maxRetryDelay = settings.retryBase
  }
  if (requested.backend !== undefined) settings.backend = resolveBackend(requested.backend, base.backend, problems)
  const { whenBusy } = requested
  if (whenBusy === 'ring' || whenBusy === 'wait' || whenBusy === 'decline') settings.whenBusy = whenBusy
  else if (whenBusy !== undefined) problems.push(`whenBusy must be 'ring', 'wait' or 'decline': keeping '${base.whenBusy}'`)
  return { settings, problems }
}

function resolveBackend(requested: BackendOptions, base: Backend, problems: string[]): Backend {
  const backend = { ...base }
  for (const name of ['authFrame', 'acks', 'resends'] as const) {
    const value = requested[name]
    if (value === undefined) continue
    if (typeof value === 'boolean') backend[name] = value
    else problems.push(`backend.${name} must be true or false: keeping ${String(base[name])}`)
  }
  const ping = requested.ping
  if (ping === false) backend.ping = null
  else if (ping !== undefined) {
    const frameOk = typeof ping === 'object' && ping !== null && typeof ping.frame === 'string' && ping.frame.length > 0 && utf8Length(ping.frame) <= MAX_FRAME_BYTES
    const answerOk = frameOk && (ping.answer === null || (typeof ping.answer === 'string' && ping.answer.length > 0))
    if (frameOk && answerOk) backend.ping = { frame: ping.frame, answer: ping.answer }
    else problems.push('backend.ping must be false or { frame: string, answer: string | null }: keeping the default')
  }
  return backend
}
