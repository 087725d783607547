/**
 * Init scripts for a driver that has none (WebDriver classic, so WebKitWebDriver): an HTTP proxy, given to the
 * browser with WebDriver's own `proxy` capability, that puts the scripts into every HTML page it forwards, as
 * inline classic scripts at the top of `<head>`. The parser runs such a script as soon as it reads it, so
 * before the page's own scripts (deferred module scripts included). Everything else, WebSocket upgrades
 * included, passes through untouched.
 */
import { request as httpRequest, Agent, createServer } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { InitScript } from '../harness'

export interface InitScriptProxy {
  /** `127.0.0.1:port`, for the `httpProxy` of a manual proxy capability. */
  readonly address: string
  /** Adds `script` (with `arg`, as JSON) to every HTML page forwarded from now on. */
  add<Arg>(script: InitScript<Arg>, arg: Arg): void
  close(): Promise<void>
}

/** Headers that would let the server answer with something the proxy cannot rewrite: compressed, or a 304 for a page cached before a script was added. */
const unrewritable = ['accept-encoding', 'if-none-match', 'if-modified-since', 'proxy-connection']

export async function startInitScriptProxy(): Promise<InitScriptProxy> {
  const scripts: string[] = []
  const sockets = new Set<Socket | Duplex>()
  const agent = new Agent({ keepAlive: true })
  const track = (socket: Socket | Duplex) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }

  const server = createServer((request, response) => {
    const target = absoluteUrl(request.url)
    if (target === null) return void response.writeHead(400).end('[engines] this proxy forwards absolute http: URLs only')
    const headers: IncomingHttpHeaders = { ...request.headers }
    for (const name of unrewritable) delete headers[name]
    const upstream = httpRequest(target, { method: request.method, headers, agent }, (answer) => {
      const html = /^text\/html\b/i.test(answer.headers['content-type'] ?? '')
      if (!html || scripts.length === 0) {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
        return
      }
      const chunks: Buffer[] = []
      answer.on('data', (chunk: Buffer) => chunks.push(chunk))
      answer.on('end', () => {
        const body = withScripts(Buffer.concat(chunks).toString('utf8'), scripts)
        // No `Cache-Control: no-store` to keep it fresh: WebKit and Chromium keep no such page in the
        // back/forward cache, which scenarios measure. Without conditional requests, the page is sent whole.
        const { 'content-length': _length, 'transfer-encoding': _encoding, etag: _etag, 'last-modified': _modified, ...kept } = answer.headers
        response.writeHead(answer.statusCode ?? 200, { ...kept, 'content-length': Buffer.byteLength(body) })
        response.end(body)
      })
    })
    upstream.on('error', () => response.destroy())
    request.pipe(upstream)
  })
  server.on('connection', track)

  // A ws: URL comes to an HTTP proxy as an absolute-URL GET with Upgrade (libsoup sends no CONNECT for it):
  // forward the request line and headers as they are, then join the two sockets.
  server.on('upgrade', (request, client: Duplex, head: Buffer) => {
    const target = absoluteUrl(request.url?.replace(/^ws/, 'http'))
    if (target === null) return void client.destroy()
    const upstream = connect(Number(target.port || 80), target.hostname)
    track(upstream)
    const end = () => {
      upstream.destroy()
      client.destroy()
    }
    upstream.once('connect', () => {
      const lines = [`${request.method} ${target.pathname}${target.search} HTTP/1.1`]
      for (let index = 0; index < request.rawHeaders.length; index += 2) {
        const name = request.rawHeaders[index]!
        if (name.toLowerCase() !== 'proxy-connection') lines.push(`${name}: ${request.rawHeaders[index + 1]}`)
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    // A socket the server ends without a close frame (`/api/dev/drop`) must end the browser's too, at once.
    for (const socket of [upstream, client]) {
      socket.once('error', end)
      socket.once('close', end)
    }
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('[engines] the init-script proxy has no address')
  return {
    address: `127.0.0.1:${address.port}`,
    add(script, arg) {
      const source = script.toString()
      if (/<\/script/i.test(source)) throw new Error('[engines] an init script cannot contain "</script"')
      // `<` escaped in the argument: a string holding "</script>" must not end the element.
      scripts.push(`(${source})(${JSON.stringify(arg ?? null).replace(/</g, '\\u003c')})`)
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      agent.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function absoluteUrl(url: string | undefined): URL | null {
  try {
    const parsed = new URL(url ?? '')
    return parsed.protocol === 'http:' ? parsed : null
  } catch {
    return null
  }
}

/** `html` with `scripts` at the top of its `<head>` (or, without one, right after its doctype). */
function withScripts(html: string, scripts: string[]): string {
  const tags = scripts.map((source) => `<script>${source}</script>`).join('')
  const head = /<head\b[^>]*>/i.exec(html)
  if (head !== null) return html.slice(0, head.index + head[0].length) + tags + html.slice(head.index + head[0].length)
  // Before the doctype, a script would put the page in quirks mode.
  const doctype = /^\s*<!doctype[^>]*>/i.exec(html)
  const at = doctype === null ? 0 : doctype[0].length
  return html.slice(0, at) + tags + html.slice(at)
}
