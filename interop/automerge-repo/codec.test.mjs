// Every message type, encoded by automerge-repo's own CBOR encoder, decodes
// in the LifeOS codec; the codec's re-encoding decodes back, with
// automerge-repo's decoder, to the very same object. Malformed messages are
// refused with a reason.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cbor, generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import * as A from "@automerge/automerge";

const here = path.dirname(fileURLToPath(import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(here, "..", "..", "target");
const child = spawn(path.join(targetDir, "debug", "examples", "protocol_codec"), [], { stdio: ["pipe", "pipe", "inherit"] });
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
after(() => child.stdin.end());

// Byte strings decode as Buffer in Node and are built as Uint8Array here:
// compare their contents, not their classes.
const plain = v => v instanceof Uint8Array ? Array.from(v)
  : Array.isArray(v) ? v.map(plain)
  : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  : v;

async function roundTrip(bytes) {
  child.stdin.write(Buffer.from(bytes).toString("hex") + "\n");
  const { value } = await lines.next();
  return JSON.parse(value);
}

const { documentId } = parseAutomergeUrl(generateAutomergeUrl());
const doc = A.change(A.init(), d => { d.title = "hello"; });
const [, syncData] = A.generateSyncMessage(doc, A.initSyncState());
const [, requestData] = A.generateSyncMessage(A.init(), A.initSyncState());

const messages = {
  join: { type: "join", senderId: "js-client", peerMetadata: { storageId: "js-storage", isEphemeral: false }, supportedProtocolVersions: ["1"] },
  peer: { type: "peer", senderId: "js-server", targetId: "js-client", peerMetadata: { isEphemeral: true }, selectedProtocolVersion: "1" },
  leave: { type: "leave", senderId: "js-client" },
  request: { type: "request", senderId: "js-client", targetId: "js-server", documentId, data: requestData },
  sync: { type: "sync", senderId: "js-client", targetId: "js-server", documentId, data: syncData },
  "doc-unavailable": { type: "doc-unavailable", senderId: "js-server", targetId: "js-client", documentId },
  ephemeral: { type: "ephemeral", senderId: "js-client", targetId: "js-server", documentId, count: 7, sessionId: "session-1", data: cbor.encode({ cursor: 12 }) },
  error: { type: "error", senderId: "js-server", targetId: "js-client", message: "unsupported protocol version" },
  "remote-subscription-change": { type: "remote-subscription-change", senderId: "js-client", targetId: "js-server", add: ["storage-a"], remove: ["storage-b"] },
  "remote-heads-changed": {
    type: "remote-heads-changed", senderId: "js-server", targetId: "js-client", documentId,
    // A real timestamp: cbor-x writes it as a float64.
    newHeads: { "storage-a": { heads: A.getHeads(doc), timestamp: Date.now() } },
  },
};

for (const [type, message] of Object.entries(messages)) {
  test(`${type}: automerge-repo's encoding decodes, and ours decodes back to the same object`, async () => {
    const answer = await roundTrip(cbor.encode(message));
    assert.equal(answer.ok, true, answer.error);
    assert.equal(answer.type, type);
    const back = cbor.decode(Buffer.from(answer.reencoded, "hex"));
    assert.deepEqual(plain(back), plain(message));
  });
}

test("malformed messages are refused with a reason", async () => {
  const cases = [
    [{ ...messages.sync, data: new Uint8Array(0) }, /empty data/],
    [{ type: "sync", senderId: "a", targetId: "b", data: syncData }, /no documentId/],
    [{ ...messages.sync, documentId: "not-a-document-id" }, /not an automerge-repo document id/],
    [{ ...messages.ephemeral, count: -1 }, /non-negative whole number/],
    [{ type: "gossip", senderId: "a" }, /unknown message type/],
    [["not", "a", "map"], /must be a CBOR map/],
  ];
  for (const [message, reason] of cases) {
    const answer = await roundTrip(cbor.encode(message));
    assert.equal(answer.ok, false, JSON.stringify(message));
    assert.match(answer.error, reason);
  }
});
