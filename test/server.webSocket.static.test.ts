/**
 * `webSocket.static`: the WebSocket port serves a directory's files to plain GETs (a game's page
 * beside its sessions), with the right content types, 404 for what is missing, and nothing from
 * outside the directory however the path is spelled. Requests are written on raw sockets, since
 * HTTP clients remove `..` before sending.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { connect as connectSocket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type Server } from '../src/index.js'
import { staticPath } from '../src/transport/staticFiles.js'

let base = ''
let root = ''
let server: Server
let port = 0

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'zerostate-static-'))
  root = join(base, 'public')
  await mkdir(join(root, 'assets'), { recursive: true })
  await writeFile(join(root, 'index.html'), '<!doctype html><p>arena</p>\n')
  await writeFile(join(root, 'game.js'), 'export {}\n')
  await writeFile(join(root, 'game.css'), 'body{}\n')
  await writeFile(join(root, 'assets/logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]))
  await writeFile(join(root, 'assets/index.html'), 'assets\n')
  await writeFile(join(root, 'name with space.txt'), 'spaced\n')
  await writeFile(join(root, '.env'), 'SECRET=1\n')
  await writeFile(join(base, 'secret.txt'), 'outside\n')
  await symlink(join(base, 'secret.txt'), join(root, 'link.txt'))
  server = createServer()
  server.onMessage((session, message) => void session.send(message))
  const address = await server.listen({ port: false, webSocket: { port: 0, static: root } })
  port = address.webSocket.port
})

afterAll(async () => {
  await server?.stop()
  await rm(base, { recursive: true, force: true })
})

/** One request as written, on a raw socket: the status line, the headers and the body. */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connectSocket({ host: '127.0.0.1', port })
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (text += chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n', 2)
      const [statusLine = '', ...lines] = head.split('\r\n')
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body })
    })
    socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
  })
}

describe('webSocket.static', () => {
  it.each([
    ['/', 'text/html; charset=utf-8', '<!doctype html><p>arena</p>\n'],
    ['/index.html', 'text/html; charset=utf-8', '<!doctype html><p>arena</p>\n'],
    ['/game.js?v=1', 'text/javascript; charset=utf-8', 'export {}\n'],
    ['/game.css', 'text/css; charset=utf-8', 'body{}\n'],
    ['/assets/logo.png', 'image/png', '\x89PNG'],
    ['/assets/', 'text/html; charset=utf-8', 'assets\n'],
    ['/assets', 'text/html; charset=utf-8', 'assets\n'],
    ['/name%20with%20space.txt', 'text/plain; charset=utf-8', 'spaced\n'],
  ])('serves %s as %s', async (path, type, body) => {
    const response = await get(path)
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe(type)
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(body, 'latin1')))
    expect(response.body).toBe(body)
  })

  it('answers HEAD with the headers alone', async () => {
    const response = await get('/game.js', 'HEAD')
    expect(response.status).toBe(200)
    expect(response.headers['content-length']).toBe('10')
    expect(response.body).toBe('')
  })

  it.each(['/missing.html', '/assets/missing.png', '/.env', '/link.txt', '/%252e%252e/secret.txt'])('answers %s with 404', async (path) => {
    const response = await get(path)
    expect(response.status).toBe(404)
    expect(response.body).toBe('not-found\n')
  })

  it.each([
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/..%2fsecret.txt',
    '/..%2Fsecret.txt',
    '/%2e%2e%2fsecret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/..%5csecret.txt',
    '/assets%5c..%5c..%5csecret.txt',
    '/index.html%00.png',
    '/./index.html',
  ])('refuses %s with 403 and serves nothing from outside', async (path) => {
    const response = await get(path)
    expect(response.status).toBe(403)
    expect(response.body).toBe('forbidden\n')
  })

  it('refuses a path that does not decode, or is not a path', async () => {
    expect((await get('/%e0%a4%a')).status).toBe(400)
    expect(staticPath(root, 'http://elsewhere/')).toBe('bad-path')
    expect(staticPath(root, '*')).toBe('bad-path')
  })

  it('still upgrades WebSocket sessions on the same port and path', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    ws.close()
  })

  it('is checked before anything binds: a missing directory is an OptionError', async () => {
    const other = createServer()
    await expect(other.listen({ port: false, webSocket: { port: 0, static: join(base, 'nowhere') } })).rejects.toMatchObject({ code: 'invalid-option' })
    await expect(other.listen({ port: false, webSocket: { port: 0, static: '' } })).rejects.toThrow(/webSocket\.static/)
  })
})

it('without static, a GET gets the short text, as before', async () => {
  const plain = createServer()
  const address = await plain.listen({ port: false, webSocket: { port: 0 } })
  const text = await fetch(`http://127.0.0.1:${address.webSocket.port}/index.html`).then((response) => response.text())
  expect(text).toMatch(/^zerostate: this port speaks zero frames over WebSocket/)
  await plain.stop()
})
