/**
 * Bundles src/browser.ts into one ES module for pages that load it without a bundler:
 * dist/browser/zerostate.js (and its source map). `npm run build` runs it after tsc; the browser
 * tests call {@link buildBrowser} into a directory of their own, so they need no prior build.
 *
 * Run: npx tsx scripts/build-browser.ts [outfile]
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BROWSER_ENTRY = resolve(ROOT, 'src/browser.ts')
export const BROWSER_BUNDLE = resolve(ROOT, 'dist/browser/zerostate.js')

/** Builds the bundle to `outfile` and returns its path. platform 'browser' makes a Node import a build error. */
export async function buildBrowser(outfile: string = BROWSER_BUNDLE): Promise<string> {
  await build({
    entryPoints: [BROWSER_ENTRY],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // What current browsers run; Node 20 runs it too.
    target: ['es2022'],
    sourcemap: true,
    // adler-32 is CommonJS; esbuild wraps it, and nothing else may reach for Node.
    logLevel: 'warning',
  })
  return outfile
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outfile = await buildBrowser(process.argv[2] === undefined ? BROWSER_BUNDLE : resolve(process.argv[2]))
  console.log(`browser bundle: ${outfile}`)
}
