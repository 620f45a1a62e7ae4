/**
 * What the arena page offers a test (or a curious console) as `globalThis.arena`: who it is, what
 * its panel and its changes list show, and what its canvas holds, with no DOM types needed to
 * read them.
 */
export interface PanelRow {
  id: string
  name: string
  seat: string
  connection: string
  wins: number
}

export interface Change {
  player: string
  what: 'seat' | 'connection'
  state: string
}

export interface CanvasPixels {
  total: number
  /** Pixels other than the background. */
  drawn: number
  /** Pixels of each slot's trail colour. */
  bySlot: number[]
}

export interface ArenaHook {
  readonly me: string
  /** Steps seen in this round. */
  readonly steps: number
  readonly phase: string
  readonly status: string
  rows(): PanelRow[]
  /** Oldest first. */
  changes(): Change[]
  pixels(): CanvasPixels
}
