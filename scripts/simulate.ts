/** `npm run simulate`: reconnect storms of 1,000 hubs with the default settings (see scripts/herd.ts). */
import { simulateFlapping, simulateRestart } from './herd'

for (const downFor of [0, 1_000, 3_000]) {
  const report = simulateRestart({ downFor })
  console.log(
    `server restart, down ${downFor} ms: ${report.attempts} attempts in 5 s, busiest 100 ms window ${report.busiestWindowAttempts} ` +
      `(${(report.busiestWindowShare * 100).toFixed(2)}%); median hub back after ${report.medianBackAfter} ms, ` +
      `all back after ${report.allBackAfter === null ? 'more than 5 s' : `${report.allBackAfter} ms`}`,
  )
}
const flapping = simulateFlapping()
console.log(
  `flapping server (drops everyone every 2 s for 60 s): ${flapping.attemptsPerSecond.toFixed(0)} attempts/s per 1,000 hubs ` +
    `(busiest second ${flapping.peakPerSecond.toFixed(0)}); hubs connected ${(flapping.connectedShare * 100).toFixed(0)}% of the time`,
)
