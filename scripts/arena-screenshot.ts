/**
 * Regenerates docs/images/arena.png, the screenshot docs/game.md shows: the arena demo in-process
 * with three TCP bots and one page in headless Chromium, mid-round. Run it by hand
 * (`npm run demo:screenshot`, or `npx tsx scripts/arena-screenshot.ts [out.png]`); tests never
 * write into the tree.
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
/** Debian's chromium, headless, as the browser tests launch it. */
export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync']
/** The canvas (576 x 384) and the panel beside it. */
export const ARENA_VIEWPORT = { width: 940, height: 470 }

/** Plays a round with three bots and a page that turns now and then, and writes a screenshot of it mid-round to `out`. */
export async function arenaScreenshot(out: string = ARENA_SCREENSHOT): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zerostate-arena-shot-'))
  const arena = await startArena({ tcpPort: 0, webPort: 0, pageDir: await buildArenaPage(dir) })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  const bots = []
  try {
    const page = await browser.newPage({ viewport: ARENA_VIEWPORT })
    await page.goto(`${arena.pageUrl}?name=alice`)
    await page.waitForSelector('body[data-phase="lobby"]')
    for (let i = 1; i <= 3; i++) bots.push(await startBot({ port: arena.address.port, name: `bot ${i}` }))
    await page.keyboard.press('Space')
    await page.waitForSelector('body[data-phase="playing"]', { timeout: 10_000 })
    for (const key of ['ArrowUp', 'ArrowRight', 'ArrowUp', 'ArrowRight']) {
      await page.waitForTimeout(500)
      await page.keyboard.press(key)
    }
    await page.waitForTimeout(300)
    await page.screenshot({ path: out })
    return out
  } finally {
    await browser.close()
    await Promise.all(bots.map((bot) => bot.close()))
    await arena.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(`arena screenshot: ${await arenaScreenshot(process.argv[2] === undefined ? undefined : resolve(process.argv[2]))}`)
}
