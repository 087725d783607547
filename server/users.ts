/** The demo users of the reference server. All have the password `demo`. */

export const roles = ['tutor', 'student', 'parent', 'advertiser'] as const
export type Role = (typeof roles)[number]

export interface DemoUser {
  id: number
  username: string
  name: string
  roles: Role[]
  profiles: Partial<Record<Role, number>>
}

export const demoPassword = 'demo'

export const demoUsers: DemoUser[] = [
  { id: 1, username: 'alice', name: 'Alice Abebe', roles: ['tutor', 'parent'], profiles: { tutor: 1, parent: 1 } },
  { id: 2, username: 'bob', name: 'Bob Bekele', roles: ['student'], profiles: { student: 1 } },
  { id: 3, username: 'carol', name: 'Carol Chala', roles: ['tutor', 'advertiser'], profiles: { tutor: 2, advertiser: 1 } },
]

/** `tutor` → `Tutor`, the profile type used in socket URLs and profile keys. */
export function profileType(role: Role): string {
  return role.charAt(0).toUpperCase() + role.slice(1)
}

/** `Tutor` or `tutor` → `tutor`; null for anything else. */
export function roleOf(type: string): Role | null {
  const lower = type.toLowerCase()
  return (roles as readonly string[]).includes(lower) ? (lower as Role) : null
}

/** The body of `GET /api/me`, in the platform's shape. */
export function meOf(user: DemoUser) {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    roles: user.roles,
    active_role: user.roles[0] ?? null,
    tutor_profile_id: user.profiles.tutor ?? null,
    student_profile_id: user.profiles.student ?? null,
    parent_profile_id: user.profiles.parent ?? null,
    advertiser_profile_id: user.profiles.advertiser ?? null,
  }
}

export function ownerOf(type: string, id: string | number): DemoUser | null {
  const role = roleOf(type)
  if (role === null) return null
  return demoUsers.find((user) => String(user.profiles[role]) === String(id)) ?? null
}

/** One end of a call, or the profile a socket speaks for. */
export interface Profile {
  role: Role
  id: number
  /** `Tutor` */
  type: string
  /** `Tutor:1` */
  key: string
  owner: DemoUser
}

/** The demo profile `type` (any case) `id` (number or digits), or null when no demo user has it. */
export function profileOf(type: string, id: string | number): Profile | null {
  const role = roleOf(type)
  const owner = role === null ? null : ownerOf(role, id)
  const profileId = role === null ? undefined : owner?.profiles[role]
  if (role === null || owner === null || profileId === undefined) return null
  return { role, id: profileId, type: profileType(role), key: `${profileType(role)}:${profileId}`, owner }
}
