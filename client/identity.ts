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
  /** @default localStorage.token, else localStorage.access_token */
  getToken?: () => string | null
  /** @default localStorage.active_role */
  getActiveRole?: () => string | null
  /** @default GET /api/me with `Authorization: Bearer <token>` */
  fetchMe?: (token: string) => Promise<Me>
  /** @default `/ws/{profile_id}/{profile_type}` on the page's origin, ws: or wss: to match */
  socketUrl?: (profile: Profile) => string
  /**
   * The backend's origin when it is not the page's (`https://api.example.com`): `/api/me` and the socket go
   * there. The backend must allow the page's origin (CORS). @default the page's origin
   */
  apiBase?: string
}

export { TokenRejectedError }

export type ResolvedIdentity = TabIdentity | { type: 'unauthorized'; code: number; reason: string }

/** The storage keys whose change (in another tab) makes a tab re-resolve its identity. */
export const identityKeys = ['token', 'access_token', 'active_role']

function readStorage(key: string): string | null {
  try {
    return localStorage.getItem(key)
  } catch {
    // Storage can be blocked (privacy settings, sandboxed frames): behave as signed out.
    return null
  }
}

export const defaultGetToken = (): string | null => readStorage('token') || readStorage('access_token') || null
export const defaultGetActiveRole = (): string | null => readStorage('active_role')

const ME_TIMEOUT = 10_000

/** Tokens and roles longer than this are not used (a 1 MB token would only earn a 431, forever). */
const MAX_TOKEN_LENGTH = 8_192
const MAX_ROLE_LENGTH = 32

export async function defaultFetchMe(token: string, apiBase?: string): Promise<Me> {
  const response = await fetch(new URL('/api/me', apiBase ?? location.href), {
    headers: { authorization: `Bearer ${token}` },
    credentials: apiBase === undefined ? 'same-origin' : 'omit',
    // A hung request must not leave the tab `connecting` for ever: fail, and the caller retries.
    signal: AbortSignal.timeout(ME_TIMEOUT),
  })
  // 408 and 429 say "later"; any other 4xx says this token will never do.
  if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
    throw new TokenRejectedError(response.status)
  }
  if (!response.ok) throw new Error(`[callhub] /api/me answered ${response.status}`)
  const me: unknown = await response.json()
  if (typeof me !== 'object' || me === null) throw new Error('[callhub] /api/me did not answer a JSON object')
  return me as Me
}

export function defaultSocketUrl(profile: Profile, apiBase?: string): string {
  const url = new URL(`/ws/${encodeURIComponent(String(profile.id))}/${encodeURIComponent(profile.type)}`, apiBase ?? location.href)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.href
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
