import { describe, expect, it } from 'vitest'
import { simulateRestart } from '../../scripts/herd'

describe('1,000 hubs reconnecting after a server restart', () => {
  it.each([
    [0, 1], [1_000, 2], [3_000, 3],
  ])('server down %i ms (seed %i): no 100 ms window of the first 5 s holds over 5%% of the attempts', (downFor, seed) => {
    const report = simulateRestart({ hubs: 1_000, downFor, seed })
    console.info(`down ${downFor} ms: busiest window ${(report.busiestWindowShare * 100).toFixed(2)}% of ${report.attempts} attempts`)
    expect(report.attempts).toBeGreaterThanOrEqual(1_000)
    expect(report.busiestWindowShare).toBeLessThanOrEqual(0.05)
  })

  it('brings every hub back once the server is up', () => {
    const report = simulateRestart({ hubs: 1_000, downFor: 0, horizon: 10_000 })
    expect(report.allBackAfter).not.toBeNull()
    expect(report.allBackAfter).toBeLessThanOrEqual(4_000)
  })
})
