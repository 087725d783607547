import { afterEach, describe, expect, it, vi } from 'vitest'
import { backendUrl, resolveIdentity } from '../../client/identity'

const page = 'https://app.example.com/tutors/profile.html?id=3'

describe('backendUrl', () => {
  it('puts /api/me and the socket on the page origin by default, ws: or wss: to match', () => {
    expect(backendUrl('/api/me', undefined, false, page)).toBe('https://app.example.com/api/me')
    expect(backendUrl('/ws/1/Tutor', undefined, true, page)).toBe('wss://app.example.com/ws/1/Tutor')
    expect(backendUrl('/ws/1/Tutor', undefined, true, 'http://127.0.0.1:8000/')).toBe('ws://127.0.0.1:8000/ws/1/Tutor')
  })

  it('puts them on apiBase when the backend is on another origin', () => {
    expect(backendUrl('/api/me', 'https://api.example.com', false, page)).toBe('https://api.example.com/api/me')
    expect(backendUrl('/ws/1/Tutor', 'https://api.example.com', true, page)).toBe('wss://api.example.com/ws/1/Tutor')
    expect(backendUrl('/ws/1/Tutor', 'http://localhost:8000', true, page)).toBe('ws://localhost:8000/ws/1/Tutor')
  })

  it('keeps a path prefix, with or without its trailing slash', () => {
    for (const base of ['https://example.com/backend', 'https://example.com/backend/']) {
      expect(backendUrl('/api/me', base, false, page)).toBe('https://example.com/backend/api/me')
      expect(backendUrl('/ws/7/Parent', base, true, page)).toBe('wss://example.com/backend/ws/7/Parent')
    }
  })

  it('reads a relative apiBase against the page', () => {
    expect(backendUrl('/api/me', '/backend', false, page)).toBe('https://app.example.com/backend/api/me')
    expect(backendUrl('/ws/1/Tutor', '/backend/', true, page)).toBe('wss://app.example.com/backend/ws/1/Tutor')
  })
})

describe('resolveIdentity with apiBase', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('asks the other origin for /api/me, with the token in the header, and connects there', async () => {
    vi.stubGlobal('location', new URL(page))
    const fetchMe = vi.fn(async (_url: string, _init: RequestInit) => Response.json({ roles: ['tutor'], tutor_profile_id: 12 }))
    vi.stubGlobal('fetch', fetchMe)
    const identity = await resolveIdentity({ apiBase: 'https://api.example.com', getToken: () => 'secret', getActiveRole: () => null })
    expect(identity).toEqual({ type: 'profile', profile: { id: 12, type: 'Tutor' }, token: 'secret', url: 'wss://api.example.com/ws/12/Tutor' })
    expect(fetchMe).toHaveBeenCalledOnce()
    const [url, init] = fetchMe.mock.calls[0]!
    expect(url).toBe('https://api.example.com/api/me')
    expect(init.headers).toEqual({ authorization: 'Bearer secret' })
    // Cookies stay home: no credentialed CORS is asked of the backend.
    expect(init.credentials).toBeUndefined()
  })
})
