/**
 * Builds the arena's page into a directory the server serves: index.html and arena.css as they
 * are, and page/arena.ts bundled with esbuild (with the zerostate browser client and the protobuf
 * runtime) into arena.js. `npm run demo` builds it into dist/arena; tests into a temp directory.
 */
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const PAGE = fileURLToPath(new URL('./page/', import.meta.url))
export const DEFAULT_PAGE_DIR = fileURLToPath(new URL('../../dist/arena/', import.meta.url))

/** Builds the page into `outdir` and returns it. */
export async function buildArenaPage(outdir: string = DEFAULT_PAGE_DIR): Promise<string> {
  await mkdir(outdir, { recursive: true })
  await Promise.all([
    copyFile(join(PAGE, 'index.html'), join(outdir, 'index.html')),
    copyFile(join(PAGE, 'arena.css'), join(outdir, 'arena.css')),
    build({
      entryPoints: [join(PAGE, 'arena.ts')],
      outfile: join(outdir, 'arena.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      sourcemap: true,
      logLevel: 'warning',
    }),
  ])
  return outdir
}
