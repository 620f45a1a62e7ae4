/**
 * The browser client in real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core): the bundle is built in setup (so a clean clone needs no prior build), a page
 * served from 127.0.0.1 loads it without a bundler, joins a real zerostate game over WebSocket
 * next to a TCP client, and each sees the other's broadcasts. The page shows what it received
 * in the DOM; the test reads the DOM and takes a screenshot. No browser fails the suite.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inflateSync } from 'node:zlib'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildBrowser } from '../scripts/build-browser.js'
import { connect, type Client } from '../src/client.js'
import { createServer, type Server, type Session } from '../src/index.js'
import { CutProxy } from './helpers/cutProxy.js'
import { waitFor } from './helpers/wait.js'

const CHROMIUM = '/usr/bin/chromium'
const VIEWPORT = { width: 640, height: 360 }
const PAGE = new URL('./browser/index.html', import.meta.url)
/** The ten-line page docs/browser.md shows. */
const ECHO_PAGE = new URL('../examples/browser/echo.html', import.meta.url)

let dir = ''
let bundle = ''

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zerostate-browser-'))
  bundle = await readFile(await buildBrowser(join(dir, 'zerostate.js')), 'utf8')
})
afterAll(() => (process.env.KEEP_BROWSER_ARTIFACTS ? console.log(`browser artifacts: ${dir}`) : rm(dir, { recursive: true, force: true })))

describe('the browser bundle', () => {
  it('is an ES module with nothing from Node: no node: imports, no require of a module, no Buffer', () => {
    expect(bundle).toMatch(/^export \{/m)
    expect(bundle).not.toMatch(/["'`]node:/)
    expect(bundle).not.toMatch(/\brequire\s*\(\s*["'`]/)
    expect(bundle).not.toMatch(/\bBuffer\b/)
    expect(bundle).not.toMatch(/\bprocess\./)
    for (const name of ['net', 'fs', 'http', 'events', 'stream', 'crypto', 'os', 'path']) {
      expect(bundle).not.toMatch(new RegExp(`from\\s*["'\`]${name}["'\`]`))
    }
  })
})

describe('the browser client in headless Chromium', () => {
  let browser: Browser
  let http: HttpServer
  let server: Server
  let tcp: Client
  let page: Page
  let pageUrl = ''
  let wsUrl = ''

  beforeAll(async () => {
    const pages = await servePages({ '/': await readFile(PAGE), '/index.html': await readFile(PAGE), '/echo.html': await readFile(ECHO_PAGE) })
    http = pages.http
    const origin = pages.origin

    // The game: every message is broadcast to every session, TCP and WebSocket alike. Heartbeats
    // come often, so the page (which sends none of its own) must answer them to stay.
    server = createServer({ heartbeat: { interval: 100, timeout: 600 } })
    server.onMessage((_session, message) => void server.broadcast({ id: 2, data: Uint8Array.from(message.data) }))
    const address = await server.listen({ host: '127.0.0.1', port: 0, webSocket: { port: 0, allowedOrigins: [origin] } })
    wsUrl = address.webSocket!.url
    pageUrl = `${origin}/?ws=${encodeURIComponent(wsUrl)}`
    tcp = await connect({ port: address.port! })
  })

  afterAll(async () => {
    await browser?.close()
    tcp?.reset()
    await server?.stop()
    if (http !== undefined) await new Promise((resolve) => http.close(resolve))
  })

  it('joins a game with a TCP client: each sees the other\'s broadcasts, the page in its DOM', async () => {
    browser = await launchChromium()
    page = await browser.newPage({ viewport: VIEWPORT })

    const text = (s: string): Uint8Array => new TextEncoder().encode(s)
    const tcpSeen: string[] = []
    tcp.onMessage((message) => tcpSeen.push(new TextDecoder().decode(message.data)))
    tcp.send({ id: 1, data: text('tcp joined') })
    await waitFor(() => tcpSeen.includes('tcp joined'))

    await page.goto(pageUrl)
    await page.waitForSelector('body:not([data-state="loading"])', { timeout: 10_000 })
    expect(await page.textContent('#status')).toBe('connected')
    // The page's hello reaches the TCP client...
    await waitFor(() => tcpSeen.includes('hello from the page'), { timeout: 5_000 })
    // ...and the TCP client's reaches the page, after the page's own hello came back to it.
    tcp.send({ id: 1, data: text('hello from tcp') })
    await page.waitForSelector('#log li:nth-child(2)', { timeout: 5_000 })
    expect(await page.locator('#log li').allTextContents()).toEqual(['2: hello from the page', '2: hello from tcp'])

    // Past the heartbeat timeout, the page is still in: it answered the server's heartbeats.
    await new Promise((resolve) => setTimeout(resolve, 900))
    const heartbeats = await page.evaluate(() => (globalThis as unknown as { zerostateClient: { heartbeats: number } }).zerostateClient.heartbeats)
    expect(heartbeats).toBeGreaterThanOrEqual(2)
    expect(await page.getAttribute('body', 'data-state')).toBe('open')

    const png = await page.screenshot({ path: join(dir, 'page.png') })
    expect(png.length).toBeGreaterThan(1000)
    expect(decodePng(png)).toMatchObject(VIEWPORT)
  })

  it('the ten-line page of docs/browser.md connects and shows what the game sends back', async () => {
    const echoPage = await browser.newPage()
    await echoPage.goto(`${pageUrl.replace(/\/(index\.html)?\?/, '/echo.html?')}`)
    await echoPage.waitForSelector('#log li')
    expect(await echoPage.textContent('#log li')).toBe('2: hello')
    await echoPage.close()
  })

  it('shows the close reason from the server\'s close frame when the server stops', async () => {
    await server.stop()
    await page.waitForSelector('body[data-state="closed"]', { timeout: 5_000 })
    expect(await page.textContent('#status')).toBe('closed: server-stopping')
    expect(await tcp.closed).toBe('server-closed')
  })
})

describe('the browser client resumes in headless Chromium', () => {
  let browser: Browser
  let http: HttpServer
  let server: Server
  let proxy: CutProxy
  let origin = ''
  const sessions: Session[] = []

  beforeAll(async () => {
    ;({ http, origin } = await servePages({ '/': await readFile(PAGE) }))
    server = createServer({ resume: { grace: 30_000 } })
    server.onConnect((session) => void sessions.push(session))
    server.onMessage((_session, message) => void server.broadcast({ id: 2, data: Uint8Array.from(message.data) }))
    const address = await server.listen({ port: false, webSocket: { port: 0, allowedOrigins: [origin] } })
    proxy = await CutProxy.open(address.webSocket.port)
  })

  afterAll(async () => {
    await browser?.close()
    await proxy?.close()
    await server?.stop()
    if (http !== undefined) await new Promise((resolve) => http.close(resolve))
  })

  it('a page whose WebSocket is cut reports dropped, comes back open in the same session, and misses nothing sent meanwhile', async () => {
    browser = await launchChromium()
    const page = await browser.newPage({ viewport: VIEWPORT })
    await page.goto(`${origin}/?resume&ws=${encodeURIComponent(`ws://127.0.0.1:${proxy.port}/`)}`)
    await page.waitForSelector('#log li', { timeout: 10_000 })
    expect(await page.locator('#log li').allTextContents()).toEqual(['2: hello from the page'])
    const [session] = sessions
    proxy.cut()
    await waitFor(() => session!.state === 'detached')
    // Broadcast while the page is away: it gets it after the resume, once.
    expect(server.broadcast({ id: 2, data: new TextEncoder().encode('while you were away') })).toBe(1)
    await page.waitForSelector('#statuses li:nth-child(2)', { timeout: 10_000 })
    expect(await page.locator('#statuses li').allTextContents()).toEqual(['dropped', 'open'])
    await page.evaluate(() => {
      const client = (globalThis as unknown as { zerostateClient: { send(message: { id: number; data: Uint8Array }): boolean } }).zerostateClient
      client.send({ id: 1, data: new TextEncoder().encode('back again') })
    })
    await page.waitForSelector('#log li:nth-child(3)', { timeout: 5_000 })
    expect(await page.locator('#log li').allTextContents()).toEqual(['2: hello from the page', '2: while you were away', '2: back again'])
    expect(session!.state).toBe('active')
    expect(server.connectionCount).toBe(1)
  })
})

/** Serves these pages (HTML) and the bundle at /zerostate.js on 127.0.0.1; anything else is a 404. */
async function servePages(pages: Record<string, Buffer>): Promise<{ http: HttpServer; origin: string }> {
  const http = createHttpServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    const page = pages[path]
    if (page !== undefined) response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page)
    else if (path === '/zerostate.js') response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle)
    else response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return { http, origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}` }
}

/**
 * Debian's Chromium, headless. Called from a test rather than beforeAll, so that a missing browser
 * fails the tests instead of skipping them.
 */
async function launchChromium(): Promise<Browser> {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true)
  // Default temp profile: a fresh user-data dir per launch.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/**
 * Decodes a PNG far enough to know it is whole: the signature, the IHDR size, and IDAT data that
 * inflates to exactly one filter byte plus one row of pixels per line.
 */
function decodePng(png: Buffer): { width: number; height: number } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  let offset = 8
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  for (;;) {
    const length = png.readUInt32BE(offset)
    const type = png.toString('latin1', offset + 4, offset + 8)
    const body = png.subarray(offset + 8, offset + 8 + length)
    if (type === 'IHDR') {
      width = body.readUInt32BE(0)
      height = body.readUInt32BE(4)
      expect(body[8], 'bit depth').toBe(8)
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[body[9]!] ?? 0
      expect(channels, 'colour type RGB or RGBA').toBeGreaterThan(0)
    } else if (type === 'IDAT') {
      idat.push(body)
    } else if (type === 'IEND') {
      break
    }
    offset += 12 + length
  }
  expect(inflateSync(Buffer.concat(idat)).length).toBe(height * (1 + width * channels))
  return { width, height }
}
