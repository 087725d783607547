/** `npm start`: builds the demo pages when they are missing or stale, then serves them with the reference API. */
import { ensureDemoBuilt } from './build'
import { startServer } from './server'

const port = Number(process.env.PORT ?? 8000)
const host = process.env.HOST ?? '127.0.0.1'

const staticDir = await ensureDemoBuilt()
const server = await startServer({ port, host, staticDir })
console.log(`callhub demo on ${server.url}  (users alice, bob, carol; password "demo")`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0))
  })
}
