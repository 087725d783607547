/**
 * `npm start`: builds the demo pages when they are missing or stale, then serves them with the reference API.
 * `HOST`, `PORT`; `BACKEND=platform` behaves like the platform's own backend (no socket auth, no pong, no acks,
 * no re-send); `CORS_ORIGINS=https://a.example,https://b.example` lets pages on those origins in.
 */
import { ensureDemoBuilt } from './build'
import { startServer } from './server'

const port = Number(process.env.PORT ?? 8000)
const host = process.env.HOST ?? '127.0.0.1'
const backend = process.env.BACKEND ?? 'callhub'
if (backend !== 'callhub' && backend !== 'platform') {
  console.error(`BACKEND must be "callhub" or "platform", not ${JSON.stringify(backend)}`)
  process.exit(1)
}
const corsOrigins = (process.env.CORS_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter((origin) => origin !== '')

const staticDir = await ensureDemoBuilt()
const server = await startServer({ port, host, staticDir, backend, corsOrigins })
console.log(`callhub demo on ${server.url}  (users alice, bob, carol; password "demo"; backend ${backend})`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0))
  })
}
