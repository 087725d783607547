/** Bearer tokens of the reference server: opaque, in memory, at most `maxPerUser` per user. */
import { randomBytes } from 'node:crypto'
import type { DemoUser } from './users'

export interface Tokens {
  issue(user: DemoUser): string
  userOf(token: string): DemoUser | undefined
  /** Forgets `token`; `onRevoke` learns of it (its live sockets close). */
  revoke(token: string): void
}

/** `Bearer <token>` → the token, or null. */
export function bearerOf(authorization: string | undefined): string | null {
  return /^Bearer (\S+)$/.exec(authorization ?? '')?.[1] ?? null
}

export function createTokens(maxPerUser: number, onRevoke: (token: string) => void): Tokens {
  const users = new Map<string, DemoUser>()
  /** Per user, its tokens oldest first: logging in again and again evicts that user's oldest, nobody else's. */
  const issued = new Map<DemoUser, Set<string>>()

  const tokens: Tokens = {
    issue(user) {
      const token = randomBytes(24).toString('base64url')
      users.set(token, user)
      const own = issued.get(user) ?? new Set<string>()
      issued.set(user, own.add(token))
      if (own.size > maxPerUser) tokens.revoke(own.values().next().value!)
      return token
    },
    userOf: (token) => users.get(token),
    revoke(token) {
      const user = users.get(token)
      if (user === undefined) return
      users.delete(token)
      issued.get(user)?.delete(token)
      onRevoke(token)
    },
  }
  return tokens
}
