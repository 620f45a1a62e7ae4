/**
 * The transitions a real server cannot take, by machine, with why: the only transitions the TCP
 * model runs may leave untaken (each must still be taken by the pure runs). The model tests fail
 * if a TCP run misses any other transition, or takes one listed here (then it is reachable and
 * its exemption must go); the README's list is generated from this one.
 */

export interface Exemption {
  /** The transition's key, as test/model/coverage.ts names it. */
  transition: string
  why: string
}

export const TCP_EXEMPTIONS = {
  connection: [],
  supervisor: [
    {
      transition: 'supervisor.draining --xstate.error.actor.0.supervisor.draining#0',
      why: 'the drain never fails: the invoked drain waits on GameLoop.whenIdle(), which only resolves',
    },
    {
      transition: 'supervisor.settling --xstate.error.actor.0.supervisor.settling#0',
      why: 'the drain never fails: the invoked drain waits on GameLoop.whenIdle(), which only resolves',
    },
  ],
  gameLogic: [
    {
      transition: 'gameLogic.running --game.drained#0',
      why:
        'game.drained with a backlog (hasBacklog, re-enter running) is defensive: GameLoop reports a drain only once ' +
        'its queue is empty, and nothing can queue between that report and the guard',
    },
  ],
} as const satisfies Record<string, readonly Exemption[]>

export type ModelMachine = keyof typeof TCP_EXEMPTIONS

/** The exempt transitions' keys of a machine, in declaration order. */
export function exemptKeys(machine: ModelMachine): string[] {
  return TCP_EXEMPTIONS[machine].map((exemption: Exemption) => exemption.transition)
}
