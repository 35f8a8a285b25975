// Runs the Rust protocol relay (core/examples/protocol_relay.rs) as a child
// process and gives each JavaScript Repo a NetworkAdapter that talks to it
// with the same CBOR frames the WebSocket adapter sends.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { NetworkAdapter, cbor } from "@automerge/automerge-repo";

const here = path.dirname(fileURLToPath(import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(here, "..", "..", "target");
export const relayBinary = path.join(targetDir, "debug", "examples", "protocol_relay");

export class RelayProcess {
  constructor() {
    this.child = spawn(relayBinary, [], { stdio: ["pipe", "pipe", "inherit"] });
    this.adapters = new Map();
    this.sent = [];
    this.received = [];
    createInterface({ input: this.child.stdout }).on("line", line => {
      const [conn, hex] = line.split(" ");
      const frame = Buffer.from(hex, "hex");
      this.received.push({ conn, frame });
      this.adapters.get(conn)?.deliver(frame);
    });
  }

  adapter(name) {
    const a = new RelayAdapter(this, name);
    this.adapters.set(name, a);
    return a;
  }

  write(conn, frame) {
    this.sent.push({ conn, frame });
    this.child.stdin.write(`${conn} ${Buffer.from(frame).toString("hex")}\n`);
  }

  writeRaw(line) {
    this.child.stdin.write(`${line}\n`);
  }

  async stop() {
    this.child.stdin.end();
    await new Promise(resolve => this.child.once("exit", resolve));
  }
}

/** A NetworkAdapter like WebSocketClientAdapter, over the relay process. */
class RelayAdapter extends NetworkAdapter {
  #ready = false;
  #resolveReady;
  #readyPromise = new Promise(resolve => (this.#resolveReady = resolve));

  constructor(relay, conn) {
    super();
    this.relay = relay;
    this.conn = conn;
  }

  isReady() {
    return this.#ready;
  }

  whenReady() {
    return this.#readyPromise;
  }

  connect(peerId, peerMetadata) {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    this.relay.write(this.conn, cbor.encode({
      type: "join",
      senderId: peerId,
      peerMetadata: this.peerMetadata,
      supportedProtocolVersions: ["1"],
    }));
  }

  disconnect() {
    this.relay.writeRaw(`${this.conn} close`);
    if (this.remotePeerId) this.emit("peer-disconnected", { peerId: this.remotePeerId });
  }

  send(message) {
    if ("data" in message && message.data?.byteLength === 0) throw new Error("Tried to send a zero-length message");
    this.relay.write(this.conn, cbor.encode(message));
  }

  deliver(frame) {
    const message = cbor.decode(new Uint8Array(frame));
    if (message.type === "peer") {
      this.remotePeerId = message.senderId;
      this.#ready = true;
      this.#resolveReady();
      this.emit("peer-candidate", { peerId: message.senderId, peerMetadata: message.peerMetadata });
    } else if (message.type === "error") {
      this.emit("close");
    } else {
      this.emit("message", message);
    }
  }
}
