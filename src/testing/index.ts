/**
 * `zerostate/testing`: run a room machine without a server (simulated players, a simulated clock,
 * what it emitted and what each player received), and model-based tests of a room chart with a
 * coverage figure. Needs `@xstate/graph` installed (`npm install -D @xstate/graph`).
 */
export { createRoomTester, restoreRoomTester } from './roomTester.js'
export type { RoomTester, RoomTesterOptions } from './roomTester.js'
export { describeRoomPath, roomModel } from './roomModel.js'
export type { RoomModel, RoomModelOptions, RoomPath, SeatedSnapshot } from './roomModel.js'
export { Coverage, coverageLine } from './coverage.js'
export type { CoverageFigures, CoverageReport } from './coverage.js'
