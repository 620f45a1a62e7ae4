/**
 * The arena end to end in real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core): the page is built and served by the arena server itself
 * (`webSocket.static`); two pages in separate browser contexts and one TCP bot join one room and
 * play a round to its end by scripted key presses. Each page's panel shows every player's seat
 * and connection state as they change (alice sends no heartbeats of her own, so the server's
 * probe shows her as heartbeatMissed), and screenshots in the lobby, mid-round and at game over
 * are checked: the canvas drawn (its pixels sampled), the panel's players and states. Bob's page
 * reaches the server through a TCP proxy (test/helpers/cutProxy.ts) that cuts his connection
 * mid-round and refuses new ones for a moment: both panels show him dropped (his seat) and
 * detached (his session), his own page its client dropped, and once the proxy lets him through he
 * resumes into the same seat, riding, and the round goes on to game over. The
 * screenshots stay in a temporary directory (KEEP_ARENA_ARTIFACTS=1 keeps it); the one in the
 * docs is made by scripts/arena-screenshot.ts.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CutProxy } from '../helpers/cutProxy.js'
import { sleep } from '../helpers/wait.js'
import { type ArenaServer, startArena } from '../../examples/arena/arenaServer.js'
import { type Bot, startBot } from '../../examples/arena/bot.js'
import { buildArenaPage } from '../../examples/arena/buildPage.js'
import { Phase } from '../../examples/arena/gen/arena_pb.js'
import type { ArenaHook, PanelRow } from '../../examples/arena/page/arenaHook.js'
import { ARENA_VIEWPORT, CHROMIUM, CHROMIUM_ARGS } from '../../scripts/arena-screenshot.js'

/**
 * A 24 x 40 arena at five steps a second: alice, riding up from row 15, is out after three
 * seconds; bob, riding down, after five, which leaves him time to drop and come back first.
 */
const SETTINGS = { width: 24, height: 40, ticksPerStep: 4, countdownTicks: 10, gameOverTicks: 30 }

let dir = ''
let arena: ArenaServer
let browser: Browser | undefined
let bot: Bot | undefined
/** Between bob's page and the server. */
let proxy: CutProxy | undefined

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zerostate-arena-'))
  // The server's probe comes after one second of silence; bob and the bot send heartbeats sooner.
  arena = await startArena({
    tcpPort: 0,
    webPort: 0,
    pageDir: await buildArenaPage(join(dir, 'page')),
    heartbeat: { interval: 1_000, timeout: 10_000 },
    resume: { grace: 15_000 },
    settings: SETTINGS,
  })
  proxy = await CutProxy.open(arena.address.webSocket.port)
})

afterAll(async () => {
  await browser?.close()
  await bot?.close()
  await proxy?.close()
  await arena?.stop()
  if (process.env.KEEP_ARENA_ARTIFACTS) console.log(`arena artifacts: ${dir}`)
  else await rm(dir, { recursive: true, force: true })
})

type Row = Partial<Omit<PanelRow, 'wins'>>

/** The page's `globalThis.arena` (examples/arena/page/arenaHook.ts). */
const hook = <T>(page: Page, read: (arena: ArenaHook) => T): Promise<T> =>
  page.evaluate(`(${read.toString()})(globalThis.arena)`) as Promise<T>

/** Opens the page (from `base`: the server, or the proxy) and waits for it to be connected (its hook is set once it is). */
async function open(page: Page, query: string, base = arena.pageUrl): Promise<void> {
  await page.goto(`${base}?${query}`)
  await page.waitForFunction('globalThis.arena !== undefined')
}

/** Waits until the panel's rows are these players, with these seats and connections where given. */
async function panelShows(page: Page, expected: Row[], timeout = 5_000): Promise<PanelRow[]> {
  const fits = (rows: PanelRow[]) =>
    rows.length === expected.length && expected.every((row, i) => Object.entries(row).every(([key, value]) => rows[i]![key as keyof PanelRow] === value))
  let rows: PanelRow[] = []
  const deadline = performance.now() + timeout
  while (!fits((rows = await hook(page, (arena) => arena.rows())))) {
    if (performance.now() > deadline) throw new Error(`the panel shows ${JSON.stringify(rows)}, not ${JSON.stringify(expected)}`)
    await sleep(20)
  }
  return rows
}

async function waitUntil(page: Page, what: string, holds: (arena: ArenaHook) => boolean, timeout = 5_000): Promise<void> {
  const deadline = performance.now() + timeout
  while (!(await hook(page, holds))) {
    if (performance.now() > deadline) throw new Error(`not within ${timeout} ms: ${what}`)
    await sleep(20)
  }
}

/** Waits until the page has seen `steps` steps of this round (hook functions run in the page, so they cannot close over a count). */
async function stepsSeen(page: Page, what: string, steps: number, timeout = 5_000): Promise<void> {
  const deadline = performance.now() + timeout
  while ((await hook(page, (arena) => arena.steps)) < steps) {
    if (performance.now() > deadline) throw new Error(`not within ${timeout} ms: ${what}`)
    await sleep(20)
  }
}

/** A screenshot of the page, checked to be a whole PNG of the viewport's size. */
async function screenshot(page: Page, name: string): Promise<void> {
  const png = await page.screenshot({ path: join(dir, `${name}.png`) })
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([ARENA_VIEWPORT.width, ARENA_VIEWPORT.height])
}

it('two pages and a TCP bot play a round to game over, every state on each panel', async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true)
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  const alice = await (await browser.newContext({ viewport: ARENA_VIEWPORT })).newPage()
  const bob = await (await browser.newContext({ viewport: ARENA_VIEWPORT })).newPage()
  const errors: string[] = []
  for (const page of [alice, bob]) page.on('pageerror', (error) => errors.push(error.message))

  // Lobby: seats in the order they came (slots 0, 1 and 2); the bot is ready at once.
  await open(alice, 'name=alice&heartbeat=0')
  await panelShows(alice, [{ name: 'alice', seat: 'joined' }])
  // Bob's page and its WebSocket both come through the proxy: the page's origin is the proxy's.
  await open(bob, 'name=bob&heartbeat=250', `http://127.0.0.1:${proxy!.port}/`)
  expect(await hook(bob, (arena) => arena.client)).toBe('open')
  await panelShows(bob, [{ name: 'alice' }, { name: 'bob', seat: 'joined', connection: 'active' }])
  bot = await startBot({ port: arena.address.port, name: 'bot', heartbeatInterval: 250 })
  await panelShows(bob, [
    { name: 'alice', seat: 'joined' },
    { name: 'bob', seat: 'joined', connection: 'active' },
    { name: 'bot', seat: 'ready', connection: 'active' },
  ])
  expect(await hook(bob, (arena) => arena.status)).toBe('lobby: press Space when ready (3 here)')
  // Alice is silent: after a second the server probes her, and her answer makes her active again.
  const aliceId = await hook(alice, (arena) => arena.me)
  await waitUntil(bob, 'alice heartbeatMissed', (arena) => arena.changes().some((change) => change.state === 'heartbeatMissed'))
  await panelShows(bob, [{ name: 'alice', connection: 'active' }, { name: 'bob' }, { name: 'bot' }])
  await screenshot(bob, 'lobby')
  const empty = await hook(bob, (arena) => arena.pixels())
  expect(empty.drawn, 'the grid is drawn').toBeGreaterThan(0)
  expect(empty.bySlot, 'no trails yet').toEqual([0, 0, 0, 0, 0, 0, 0, 0])

  // Both press Space: the countdown, then the round.
  await alice.keyboard.press('Space')
  await panelShows(bob, [{ name: 'alice', seat: 'ready' }, { name: 'bob', seat: 'joined' }, { name: 'bot', seat: 'ready' }])
  await bob.keyboard.press('Space')
  await Promise.all([alice, bob].map((page) => waitUntil(page, 'playing', (arena) => arena.phase === 'playing')))
  // Alice rides up into the top wall, bob down into the bottom one; the bot keeps riding.
  await alice.keyboard.press('ArrowUp')
  await bob.keyboard.press('ArrowDown')
  await waitUntil(alice, 'four steps', (arena) => arena.steps >= 4)
  const mid = await panelShows(alice, [
    { name: 'alice', seat: 'playing' },
    { name: 'bob', seat: 'playing', connection: 'active' },
    { name: 'bot', seat: 'playing', connection: 'active' },
  ])
  // Alice sends only her key presses: a second after one she may be heartbeatMissed for a moment.
  expect(['active', 'heartbeatMissed']).toContain(mid[0]!.connection)
  expect(mid.map((row) => row.slot)).toEqual([0, 1, 2])
  await screenshot(alice, 'playing')
  const riding = await hook(alice, (arena) => arena.pixels())
  for (const [slot, name] of ['alice', 'bob', 'bot'].entries()) expect(riding.bySlot[slot], `${name}'s trail`).toBeGreaterThan(0)

  // Bob's network goes down mid-round: his connection is cut, and new ones refused for now.
  const bobId = await hook(bob, (arena) => arena.me)
  proxy!.blocking = true
  proxy!.cut()
  await waitUntil(bob, "bob's client dropped", (arena) => arena.client === 'dropped')
  expect(await hook(bob, (arena) => arena.status)).toBe('connection lost: coming back…')
  await panelShows(alice, [{ name: 'alice', seat: 'playing' }, { id: bobId, name: 'bob', seat: 'dropped', connection: 'detached' }, { name: 'bot', seat: 'playing' }])
  await screenshot(alice, 'bobDropped')
  await screenshot(bob, 'bobOffline')
  // His cycle rides on, unsteered, while he is away (he was riding straight down anyway).
  const away = await hook(alice, (arena) => arena.steps)
  await stepsSeen(alice, 'two more steps', away + 2)
  // The network is back: bob's client dials again and resumes into his seat, still riding.
  proxy!.blocking = false
  await waitUntil(bob, "bob's client open again", (arena) => arena.client === 'open', 5_000)
  const back: Row[] = [{ name: 'alice' }, { id: bobId, name: 'bob', seat: 'playing', connection: 'active' }, { name: 'bot', seat: 'playing' }]
  for (const page of [alice, bob]) expect((await panelShows(page, back)).map((row) => row.slot)).toEqual([0, 1, 2])
  expect(await hook(bob, (arena) => arena.me)).toBe(bobId)
  expect(await hook(bob, (arena) => arena.status)).toBe('ride!')
  expect(proxy!.connections).toBeGreaterThanOrEqual(2)
  // Bob's page got what was sent while he was away: every step, his trail with it.
  await stepsSeen(bob, "bob's page caught up", away + 2)

  // Game over: alice and bob hit the walls and the bot wins; both pages say so.
  await Promise.all([alice, bob].map((page) => waitUntil(page, 'game over', (arena) => arena.phase === 'gameOver', 10_000)))
  const over = await panelShows(bob, [
    { name: 'alice', seat: 'out' },
    { name: 'bob', seat: 'out', connection: 'active' },
    { name: 'bot', seat: 'playing', connection: 'active' },
  ])
  expect(['active', 'heartbeatMissed']).toContain(over[0]!.connection)
  expect(over.map((row) => row.wins)).toEqual([0, 0, 1])
  expect(await hook(alice, (arena) => arena.status)).toBe('game over: bot wins')
  await screenshot(bob, 'gameOver')
  const final = await hook(bob, (arena) => arena.pixels())
  // The winner's trail at full colour; the others' dimmed, and longer than mid-round.
  expect(final.bySlot[2], "the bot's trail").toBeGreaterThan(riding.bySlot[2]!)
  expect(final.drawn, 'more drawn than mid-round').toBeGreaterThan(riding.drawn)

  // Back in the lobby: every seat joined again, the bot ready for the next round at once.
  await panelShows(alice, [{ name: 'alice', seat: 'joined' }, { name: 'bob', seat: 'joined' }, { name: 'bot', seat: 'ready' }])
  expect(await hook(alice, (arena) => arena.phase)).toBe('lobby')

  // Each page listed each of bob's states as it changed, in order: the seat dropped and back,
  // the session detached and back (bob's own page hears both in the frames replayed to it).
  for (const page of [alice, bob]) {
    const changes = (await hook(page, (arena) => arena.changes())).filter((change) => change.player === bobId)
    expect(changes.filter((change) => change.what === 'seat').map((change) => change.state)).toEqual(['joined', 'ready', 'playing', 'dropped', 'playing', 'out', 'joined'])
    const connection = changes.filter((change) => change.what === 'connection').map((change) => change.state)
    expect(connection.indexOf('detached')).toBeGreaterThan(-1)
    expect(connection.lastIndexOf('active')).toBeGreaterThan(connection.indexOf('detached'))
  }
  // And bob's page its own client: open, dropped while the proxy refused it, open again.
  const client = (await hook(bob, (arena) => arena.changes())).filter((change) => change.what === 'client').map((change) => change.state)
  expect(client).toEqual(['open', 'dropped', 'open'])

  // Each page listed each of alice's states as it changed, in order.
  for (const page of [alice, bob]) {
    const changes = (await hook(page, (arena) => arena.changes())).filter((change) => change.player === aliceId)
    expect(changes.filter((change) => change.what === 'seat').map((change) => change.state)).toEqual(['joined', 'ready', 'playing', 'out', 'joined'])
    const connection = changes.filter((change) => change.what === 'connection').map((change) => change.state)
    expect(connection[0]).toMatch(/^(handshake|active)$/)
    expect(connection.indexOf('heartbeatMissed')).toBeGreaterThan(-1)
    expect(connection.lastIndexOf('active')).toBeGreaterThan(connection.indexOf('heartbeatMissed'))
  }
  expect(bot.rounds).toBe(1)
  expect(bot.phases.slice(0, 4)).toEqual([Phase.LOBBY, Phase.COUNTDOWN, Phase.PLAYING, Phase.GAME_OVER])
  expect(errors).toEqual([])
}, 60_000)
