// The automerge-repo reference sync server, as its authors ship it
// (automerge-repo-sync-server): a Repo with a WebSocket server adapter and
// file storage that shares nothing on its own initiative and answers every
// peer that asks. Usage: node server.mjs PORT DATA_DIR
// Prints "listening PORT" once it accepts connections.
import { Repo } from "@automerge/automerge-repo"
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"
import { WebSocketServer } from "ws"

const port = Number(process.argv[2] ?? 3030)
const dir = process.argv[3] ?? ".amrg"

const wss = new WebSocketServer({ host: "127.0.0.1", port })
const adapter = new WebSocketServerAdapter(wss)
const repo = new Repo({
  network: [adapter],
  storage: new NodeFSStorageAdapter(dir),
  peerId: `reference-${process.pid}`,
  sharePolicy: async () => false,
})
// The Repo hands the adapter its peer id only after reading its storage id;
// a peer that joins before that crashes the connection. Say "listening"
// once both are ready.
const listening = new Promise(resolve => wss.on("listening", resolve))
const connected = new Promise(resolve => {
  const check = () => (adapter.peerId ? resolve() : setTimeout(check, 5))
  check()
})
Promise.all([listening, connected]).then(() =>
  console.log(`listening ${wss.address().port}`),
)
const stop = () => {
  repo.shutdown().finally(() => process.exit(0))
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
