/** `npm run demo`'s flags (examples/arena/demoArgs.ts): defaults, the ports that follow, bad values. */
import { expect, it } from 'vitest'
import { demoArgs, INSPECT_PORT, MAX_RESUME_GRACE } from '../../examples/arena/demoArgs.js'

it('defaults: the page on 18800, the bots on 18801, no bots, no inspection, 15 s to come back', () => {
  expect(demoArgs([])).toEqual({ host: '127.0.0.1', port: 18800, tcpPort: 18801, bots: 0, inspect: null, inspectFile: null, resumeGrace: 15_000 })
})

it('--resume-grace sets how long a lost player keeps its seat; 0 turns resume off', () => {
  expect(demoArgs(['--resume-grace', '30000']).resumeGrace).toBe(30_000)
  expect(demoArgs(['--resume-grace=0']).resumeGrace).toBe(0)
  expect(demoArgs(['--resume-grace', String(MAX_RESUME_GRACE)]).resumeGrace).toBe(MAX_RESUME_GRACE)
})

it('the TCP port follows --port, or is its own; --port 0 picks both', () => {
  expect(demoArgs(['--port', '19000'])).toMatchObject({ port: 19000, tcpPort: 19001 })
  expect(demoArgs(['--port', '0'])).toMatchObject({ port: 0, tcpPort: 0 })
  expect(demoArgs(['--port', '19000', '--tcp-port', '19500'])).toMatchObject({ port: 19000, tcpPort: 19500 })
})

it('a bare --inspect, last or before another flag, is the default relay port; --inspect=0 picks one', () => {
  expect(demoArgs(['--inspect']).inspect).toBe(INSPECT_PORT)
  expect(demoArgs(['--inspect', '--bots', '3'])).toMatchObject({ inspect: INSPECT_PORT, bots: 3 })
  expect(demoArgs(['--inspect=0']).inspect).toBe(0)
  expect(demoArgs(['--inspect-file', 'arena.jsonl']).inspectFile).toBe('arena.jsonl')
})

it.each([
  [['--port=-1'], /--port wants a port/],
  [['--port', '70000'], /--port wants a port/],
  [['--bots', 'three'], /--bots wants a number of bots/],
  [['--bots', '1.5'], /--bots wants a number of bots/],
  [['--inspect='], /--inspect wants a port/],
  [['--colour', 'red'], /Unknown option '--colour'/],
  [['--resume-grace=-1'], /--resume-grace wants milliseconds from 0 \(off\)/],
  [['--resume-grace', '15s'], /--resume-grace wants milliseconds/],
  [['--resume-grace', String(MAX_RESUME_GRACE + 1)], /--resume-grace wants milliseconds/],
])('refuses %j', (argv, message) => {
  expect(() => demoArgs(argv)).toThrow(expect.objectContaining({ code: 'invalid-flag', message: expect.stringMatching(message) }))
})
