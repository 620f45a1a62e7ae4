/**
 * What the arena page offers a test (or a curious console) as `globalThis.arena`: who it is, what
 * its panel and its changes list show, and what its canvas holds, with no DOM types needed to
 * read them.
 */
export interface PanelRow {
  id: string
  name: string
  /** 0-7: the player's colour and starting place. */
  slot: number
  seat: string
  connection: string
  wins: number
}

export interface Change {
  player: string
  /** The seat and connection states the server tells of each player, or this page's own client status. */
  what: 'seat' | 'connection' | 'client'
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
  /** This page's own client: `connecting`, then `open`, `dropped` or `closed` (zerostate's `client.status`). */
  readonly client: string
  rows(): PanelRow[]
  /** Oldest first. */
  changes(): Change[]
  pixels(): CanvasPixels
}
