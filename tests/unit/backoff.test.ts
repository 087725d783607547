import { describe, expect, it } from 'vitest'
import { TRY_AGAIN_LATER_DELAY, classifyClose, retryDelay } from '../../core/backoff'

describe('retryDelay', () => {
  it('draws from [0, base·2^attempt] with full jitter', () => {
    expect(retryDelay(0, 0)).toBe(0)
    expect(retryDelay(0, 0.999_999)).toBe(499)
    expect(retryDelay(3, 0.5)).toBe(2_000)
    expect(retryDelay(2, 0.25, { base: 100 })).toBe(100)
  })

  it('never exceeds the cap, however many attempts', () => {
    expect(retryDelay(60, 0.999_999)).toBe(29_999)
    expect(retryDelay(1_000, 0.999_999, { cap: 5_000 })).toBe(4_999)
  })

  it('treats a negative attempt as the first', () => {
    expect(retryDelay(-4, 0.999_999)).toBe(499)
  })
})

describe('classifyClose', () => {
  it.each([4401, 4403, 1008])('treats %i as rejected credentials', (code) => {
    expect(classifyClose(code, '')).toEqual({ kind: 'credentials' })
  })

  it.each([1000, 1001, 1006, 1011, 1012, 4000])('retries after %i with no minimum', (code) => {
    expect(classifyClose(code, 'whatever')).toEqual({ kind: 'retry', minDelay: 0 })
  })

  it('honours 1013 Try Again Later and a retry-after reason', () => {
    expect(classifyClose(1013, '')).toEqual({ kind: 'retry', minDelay: TRY_AGAIN_LATER_DELAY })
    expect(classifyClose(1013, 'retry-after=12000')).toEqual({ kind: 'retry', minDelay: 12_000 })
    expect(classifyClose(1001, 'going away; retry-after=2500')).toEqual({ kind: 'retry', minDelay: 2_500 })
    // The number ends at a separator or at the end, never inside its digits.
    expect(classifyClose(1001, 'retry-after=2500; going away')).toEqual({ kind: 'retry', minDelay: 2_500 })
    expect(classifyClose(1001, 'retry-after=2500 going away')).toEqual({ kind: 'retry', minDelay: 2_500 })
    expect(classifyClose(1001, 'retry-after=2500,going away')).toEqual({ kind: 'retry', minDelay: 2_500 })
    expect(classifyClose(1001, 'no-retry-after=2500x')).toEqual({ kind: 'retry', minDelay: 0 })
  })
})
