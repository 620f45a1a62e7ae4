/** The part of `@statelyai/inspect` zerostate uses. */
export type StatelyInspect = Pick<typeof import('@statelyai/inspect'), 'createWebSocketInspector'>

/** What to tell someone whose `--inspect` cannot load the package. */
export const INSTALL_STATELY_INSPECT = 'npm install @statelyai/inspect'

/**
 * Loads `@statelyai/inspect` (an optional peer dependency), or resolves null when it is not
 * installed. It is imported only here, when inspection is asked for, so a server without
 * inspection never loads it or what it brings (partysocket, superjson).
 */
export async function importStatelyInspect(): Promise<StatelyInspect | null> {
  try {
    return await import('@statelyai/inspect')
  } catch (error) {
    if (isMissing(error)) return null
    throw error
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes('@statelyai/inspect')
}
