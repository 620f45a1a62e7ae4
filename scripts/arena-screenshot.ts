/**
 * Regenerates docs/images/arena.png, the screenshot docs/game.md shows: the arena demo in-process
 * with three TCP bots and one page in headless Chromium, mid-round. Run it by hand
 * (`npx tsx scripts/arena-screenshot.ts [out.png]`); tests never write into the tree.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { startArena } from '../examples/arena/arenaServer.js'
import { startBot } from '../examples/arena/bot.js'
import { buildArenaPage } from '../examples/arena/buildPage.js'

export const ARENA_SCREENSHOT = fileURLToPath(new URL('../docs/images/arena.png', import.meta.url))
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync']
export const ARENA_VIEWPORT = { width: 940, height: 470 }

const out = process.argv[2] === undefined ? ARENA_SCREENSHOT : resolve(process.argv[2])
const dir = await mkdtemp(join(tmpdir(), 'zerostate-arena-shot-'))
const arena = await startArena({ tcpPort: 0, webPort: 0, pageDir: await buildArenaPage(dir) })
const bots = await Promise.all([1, 2, 3].map((i) => startBot({ port: arena.address.port, name: `bot ${i}` })))
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
try {
  const page = await browser.newPage({ viewport: ARENA_VIEWPORT })
  await page.goto(`${arena.pageUrl}?name=you`)
  await page.waitForSelector('body[data-phase="lobby"], body[data-phase="countdown"], body[data-phase="playing"]')
  // Bots that were ready first may be riding already: wait for the lobby, then join in.
  await page.waitForSelector('body[data-phase="lobby"]', { timeout: 120_000 })
  await page.keyboard.press('Space')
  await page.waitForSelector('body[data-phase="playing"]', { timeout: 10_000 })
  for (const key of ['ArrowDown', 'ArrowRight', 'ArrowUp', 'ArrowRight']) {
    await page.waitForTimeout(500)
    await page.keyboard.press(key)
  }
  await page.waitForTimeout(300)
  await page.screenshot({ path: out })
  console.log(`arena screenshot: ${out}`)
} finally {
  await browser.close()
  await Promise.all(bots.map((bot) => bot.close()))
  await arena.stop()
  await rm(dir, { recursive: true, force: true })
}
