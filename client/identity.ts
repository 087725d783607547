import { TokenRejectedError } from '../protocol/errors'
import type { Profile, TabIdentity } from '../protocol/port'

/** The user as `GET /api/me` returns it on the platform. */
export interface Me {
  roles?: string[]
  active_role?: string | null
  tutor_profile_id?: number | string | null
  student_profile_id?: number | string | null
  parent_profile_id?: number | string | null
  advertiser_profile_id?: number | string | null
  [field: string]: unknown
}

export interface IdentityOptions {
  /**
   * The backend's address when it is not the page's origin: `'https://api.example.com'`, or with a path
   * prefix, `'https://example.com/backend'`. `/api/me` and the socket (`wss:` for `https:`) go there; the
   * backend must allow the pages' origin by CORS (README, "A backend on another origin").
   * `fetchMe` and `socketUrl`, when given, take precedence. @default the page's origin
   */
  apiBase?: string
  /** @default localStorage.token, else localStorage.access_token */
  getToken?: () => string | null
  /** @default localStorage.active_role */
  getActiveRole?: () => string | null
  /** @default GET `/api/me` (on `apiBase`) with `Authorization: Bearer <token>` */
  fetchMe?: (token: string) => Promise<Me>
  /** @default `/ws/{profile_id}/{profile_type}` on `apiBase` or the page's origin, ws: or wss: to match */
  socketUrl?: (profile: Profile) => string
}

export { TokenRejectedError }

export type ResolvedIdentity = TabIdentity | { type: 'unauthorized'; code: number; reason: string }

/** The storage keys whose change (in another tab) makes a tab re-resolve its identity. */
export const identityKeys = ['token', 'access_token', 'active_role']

/** Said once per page: storage that throws keeps throwing, on every identity event. */
let storageBlockedSaid = false

function readStorage(key: string): string | null {
  try {
    return localStorage.getItem(key)
  } catch (error) {
    // Storage can be blocked (privacy settings, sandboxed frames): behave as signed out, and say why.
    if (!storageBlockedSaid) {
      storageBlockedSaid = true
      console.warn(`[callhub] localStorage cannot be read here (${String(error)}): no token, so signed out; pass \`getToken\` to read it from elsewhere`)
    }
    return null
  }
}

export const defaultGetToken = (): string | null => readStorage('token') || readStorage('access_token') || null
export const defaultGetActiveRole = (): string | null => readStorage('active_role')

const ME_TIMEOUT = 10_000

/** Tokens and roles longer than this are not used (a 1 MB token would only earn a 431, forever). */
const MAX_TOKEN_LENGTH = 8_192
const MAX_ROLE_LENGTH = 32

/**
 * `path` on the backend: under `apiBase` (with or without a trailing slash; a relative base is read against
 * the page), else on the page's origin; `socket` turns http(s) into ws(s). Node tests pass `pageUrl`.
 */
export function backendUrl(path: string, apiBase = '', socket = false, pageUrl = location.href): string {
  const url = new URL(apiBase.replace(/\/+$/, '') + path, pageUrl)
  if (socket) url.protocol = url.protocol.replace('http', 'ws')
  return url.href
}

export async function defaultFetchMe(token: string, apiBase?: string): Promise<Me> {
  const url = backendUrl('/api/me', apiBase)
  const response = await fetch(url, {
    // The token travels in a header, and cookies only to the page's own origin (fetch's default
    // `credentials`): a backend on another origin needs CORS for the header, never credentialed CORS.
    headers: { authorization: `Bearer ${token}` },
    // A hung request must not leave the tab `connecting` for ever: fail, and the caller retries.
    signal: AbortSignal.timeout(ME_TIMEOUT),
  })
  // 408 and 429 say "later"; any other 4xx says this token will never do.
  if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
    throw new TokenRejectedError(response.status)
  }
  if (!response.ok) throw new Error(`[callhub] ${url} answered ${response.status}`)
  const me: unknown = await response.json()
  if (typeof me !== 'object' || me === null) throw new Error(`[callhub] ${url} did not answer a JSON object`)
  return me as Me
}

export function defaultSocketUrl(profile: Profile, apiBase?: string): string {
  return backendUrl(`/ws/${encodeURIComponent(profile.id)}/${encodeURIComponent(profile.type)}`, apiBase, true)
}

function profileIdOf(me: Me, role: string): number | string | null {
  const field = `${role}_profile_id`
  const value = Object.prototype.hasOwnProperty.call(me, field) ? me[field] : null
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string' && value.trim() !== '' && value.length <= 128) return value.trim()
  return null
}

/**
 * Token → user → active role → profile, by the platform's conventions. Throws only when `/api/me`
 * cannot be reached (the caller retries); a rejected token resolves to `unauthorized`.
 */
export async function resolveIdentity(options: IdentityOptions = {}): Promise<ResolvedIdentity> {
  const {
    apiBase, getToken = defaultGetToken, getActiveRole = defaultGetActiveRole,
    fetchMe = (token: string) => defaultFetchMe(token, apiBase), socketUrl = (profile: Profile) => defaultSocketUrl(profile, apiBase),
  } = options
  const token = getToken()
  if (!token) return { type: 'signed-out' }
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
    return { type: 'unauthorized', code: 0, reason: `[callhub] the token is not a string of at most ${MAX_TOKEN_LENGTH} characters: sign in again` }
  }
  let me: Me
  try {
    me = await fetchMe(token)
  } catch (error) {
    if (error instanceof TokenRejectedError) return { type: 'unauthorized', code: error.status, reason: error.message }
    throw error
  }
  const roles = Array.isArray(me.roles) ? me.roles.filter((role): role is string => typeof role === 'string') : []
  const serverRole = typeof me.active_role === 'string' ? me.active_role : null
  const role = (getActiveRole() || serverRole || roles[0] || '').toLowerCase()
  if (role.length > MAX_ROLE_LENGTH || !/^[a-z]+$/.test(role)) return { type: 'no-profile', role: null }
  const id = profileIdOf(me, role)
  if (id === null) return { type: 'no-profile', role }
  const profile: Profile = { id, type: role.charAt(0).toUpperCase() + role.slice(1) }
  return { type: 'profile', profile, token, url: socketUrl(profile) }
}
