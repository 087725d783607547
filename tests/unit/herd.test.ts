import { describe, expect, it } from 'vitest'
import { defaultSettings } from '../../core/settings'
import { simulateFlapping, simulateRestart } from '../../scripts/herd'

// Simulating 1,000 hubs takes a few seconds of CPU: on a busy machine more than vitest's default 5 s.
const simulation = { timeout: 60_000 }

describe('1,000 hubs with the default settings reconnecting after a server restart', () => {
  it.each([
    [0, 1], [1_000, 2], [3_000, 3],
  ])('server down %i ms (seed %i): no 100 ms window of the first 5 s holds over 5 percent of the attempts', simulation, (downFor, seed) => {
    const report = simulateRestart({ hubs: 1_000, downFor, seed })
    console.info(`down ${downFor} ms: busiest window ${(report.busiestWindowShare * 100).toFixed(2)}% of ${report.attempts} attempts`)
    expect(report.attempts).toBeGreaterThanOrEqual(1_000)
    expect(report.busiestWindowShare).toBeLessThanOrEqual(0.05)
  })

  it('brings every hub back within the first retry window (base·2^3) once the server is up', simulation, () => {
    const report = simulateRestart({ hubs: 1_000, downFor: 0, horizon: 10_000 })
    expect(report.allBackAfter).not.toBeNull()
    expect(report.allBackAfter).toBeLessThanOrEqual(defaultSettings.retryBase * 8 + 10)
  })
})

describe('1,000 hubs against a server that drops everyone every 2 s for 60 s', () => {
  it('make at most one attempt per hub per drop: the server sets the pace, the hubs never outrun it', simulation, () => {
    const report = simulateFlapping({ hubs: 1_000, every: 2_000, duration: 60_000 })
    console.info(`flapping: ${report.attemptsPerSecond.toFixed(0)} attempts/s per 1,000 hubs, busiest second ${report.peakPerSecond.toFixed(0)}`)
    // One accepted connection per hub per 2 s cycle at most: 500 a second per 1,000 hubs.
    expect(report.attemptsPerSecond).toBeLessThanOrEqual(500)
    expect(report.peakPerSecond).toBeLessThanOrEqual(1_000)
    // And they do come back between drops: a flapping server still gets its calls through.
    expect(report.connectedShare).toBeGreaterThan(0.2)
  })
})
