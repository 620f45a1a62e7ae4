/**
 * The files a WebSocket listener serves to plain GETs when `webSocket.static` names a directory:
 * a game's page and its assets from the port its sessions use. Only files under that directory
 * are served: a path with a `.` or `..` segment (after percent-decoding, so `%2e%2e` and `..%2f`
 * count), a backslash or a NUL is refused, and a file whose real path (symbolic links resolved)
 * leaves the directory is not found.
 */
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, resolve, sep } from 'node:path'

/** Content types by extension; anything else is `application/octet-stream`. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
})

/** Why a path is not served; the response's body is the code. */
export type StaticRefusal = 'bad-path' | 'forbidden' | 'not-found'

const STATUS: Readonly<Record<StaticRefusal, number>> = { 'bad-path': 400, forbidden: 403, 'not-found': 404 }

/**
 * The absolute file a request URL names under `root` (`/` and any path ending in `/` name its
 * `index.html`), or why it cannot name one. Pure: the file system is not read.
 */
export function staticPath(root: string, url: string): string | StaticRefusal {
  const raw = url.split(/[?#]/, 1)[0]!
  if (!raw.startsWith('/')) return 'bad-path'
  let path: string
  try {
    path = decodeURIComponent(raw)
  } catch {
    return 'bad-path'
  }
  if (path.includes('\0') || path.includes('\\')) return 'forbidden'
  const segments = path.split('/').slice(1)
  if (segments.some((segment) => segment === '.' || segment === '..')) return 'forbidden'
  // Hidden files (.git, .env) are not part of a page.
  if (segments.some((segment) => segment.startsWith('.'))) return 'not-found'
  if (path.endsWith('/')) path += 'index.html'
  const file = resolve(root, `.${path}`)
  return file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : 'forbidden'
}

/** Answers a GET or HEAD with the file it names under `root`, or with a refusal. */
export async function serveStatic(root: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const named = staticPath(root, request.url ?? '/')
  if (!named.startsWith(sep)) return refuse(response, named as StaticRefusal)
  try {
    let file = named
    let info = await stat(file)
    if (info.isDirectory()) {
      file = resolve(file, 'index.html')
      info = await stat(file)
    }
    const [real, realRoot] = await Promise.all([realpath(file), realpath(root)])
    if (!info.isFile() || !real.startsWith(realRoot + sep)) return refuse(response, 'not-found')
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    })
    if (request.method === 'HEAD') {
      response.end()
      return
    }
    createReadStream(real)
      .on('error', () => response.destroy())
      .pipe(response)
  } catch {
    refuse(response, 'not-found')
  }
}

function refuse(response: ServerResponse, refusal: StaticRefusal): void {
  if (response.headersSent) return void response.destroy()
  const body = `${refusal}\n`
  response.writeHead(STATUS[refusal], { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length }).end(body)
}
