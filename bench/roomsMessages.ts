/** The calls between the rooms bench and its server child (bench/rooms-server.ts). */
export type RoomsCalls = {
  listen: { args: undefined; result: number }
  /** CPU time of the child so far, and how many rooms (or groups, on plain handlers) it runs. */
  cpu: { args: undefined; result: { cpuMs: number; rooms: number } }
  stop: { args: undefined; result: undefined }
}
