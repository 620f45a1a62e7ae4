import { describe, expect, it } from 'vitest'
import { GameLoop } from '../src/gameLoop.js'
import { systemClock } from '../src/options.js'
import type { Session } from '../src/session.js'

const session = { id: 'established' } as Session
const newcomer = { id: 'new' } as Session
const message = { id: 1, data: new Uint8Array(0) }

/** Handler runs per event-loop turn (turns with none left out), until `expected` have run. */
async function runsPerTurn(ran: () => number, expected: number): Promise<number[]> {
  const turns: number[] = []
  let before = 0
  while (before < expected) {
    await new Promise<void>((resolve) => setImmediate(resolve))
    const now = ran()
    turns.push(now - before)
    before = now
  }
  return turns.filter((runs) => runs > 0)
}

function game(): { game: GameLoop; log: string[] } {
  const log: string[] = []
  const game = new GameLoop({ clock: systemClock, inspect: undefined, handlerTimeout: 10_000, maxPending: 10_000, onRelief: () => {} })
  game.connects.add((s) => void log.push(`connect:${s.id}`))
  game.messages.add((s) => void log.push(`message:${s.id}`))
  return { game, log }
}

describe('game loop: admission', () => {
  it('runs everything queued in one turn while no connection arrives', async () => {
    const { game: loop, log } = game()
    for (let i = 0; i < 100; i++) loop.message(session, message)
    expect(await runsPerTurn(() => log.length, 100)).toEqual([100])
  })

  it('runs at most 16 events a turn after an accept, so the next accept comes sooner, and keeps their order', async () => {
    const { game: loop, log } = game()
    for (let i = 0; i < 100; i++) loop.message(session, message)
    loop.connect(newcomer)
    loop.message(newcomer, message)
    const turns = await runsPerTurn(() => log.length, 102)
    // The first turn is the accept's; the turns after it, with no accept, run the rest at once.
    expect(turns).toEqual([16, 86])
    expect(log.slice(99)).toEqual(['message:established', 'connect:new', 'message:new'])
  })

  it('stays short for as long as connections keep arriving', async () => {
    const { game: loop, log } = game()
    for (let i = 0; i < 100; i++) loop.message(session, message)
    loop.connect(newcomer)
    const turns: number[] = []
    let before = 0
    for (let turn = 0; turn < 3; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      turns.push(log.length - before)
      before = log.length
      loop.connect(newcomer)
    }
    expect(turns).toEqual([16, 16, 16])
  })
})
