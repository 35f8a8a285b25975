// Writes seed inputs for the fuzz targets (fuzz/README.md): valid frames made
// with the real automerge-repo and automerge packages. Usage: node fuzz-seeds.mjs ../../fuzz/corpus
import { cbor, generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import * as A from "@automerge/automerge";
import fs from "node:fs";
import path from "node:path";
const root = process.argv[2];
for (const d of ["decode", "server_peer"]) fs.mkdirSync(path.join(root, d), { recursive: true });
const { documentId } = parseAutomergeUrl(generateAutomergeUrl());
let doc = A.from({ tasks: { a: { title: "Call mom" } } });
doc = A.change(doc, d => { d.tasks.b = { title: "Water" }; });
const [s1, m1] = A.generateSyncMessage(doc, A.initSyncState());
const [, m0] = A.generateSyncMessage(A.init(), A.initSyncState());
const msgs = [
  { type: "join", senderId: "fuzzer", peerMetadata: { storageId: "s", isEphemeral: false }, supportedProtocolVersions: ["1"] },
  { type: "request", senderId: "fuzzer", targetId: "relay", documentId, data: m0 },
  { type: "sync", senderId: "fuzzer", targetId: "relay", documentId, data: m1 },
  { type: "doc-unavailable", senderId: "fuzzer", targetId: "relay", documentId },
  { type: "ephemeral", senderId: "fuzzer", targetId: "relay", documentId, count: 1, sessionId: "x", data: cbor.encode({ cursor: 3 }) },
  { type: "leave", senderId: "fuzzer" },
  { type: "remote-heads-changed", senderId: "fuzzer", targetId: "relay", documentId, newHeads: { s: { heads: ["abc"], timestamp: Date.now() } } },
  { type: "remote-subscription-change", senderId: "fuzzer", targetId: "relay", add: ["s"], remove: [] },
];
const frames = msgs.map(m => Buffer.from(cbor.encode(m)));
frames.forEach((f, i) => fs.writeFileSync(path.join(root, "decode", `seed-${i}`), f));
const framed = list => Buffer.concat(list.flatMap(f => { const h = Buffer.alloc(2); h.writeUInt16LE(f.length); return [h, f]; }));
fs.writeFileSync(path.join(root, "server_peer", "sync"), framed([frames[2]]));
fs.writeFileSync(path.join(root, "server_peer", "request-then-sync"), framed([frames[1], frames[2], frames[4]]));
fs.writeFileSync(path.join(root, "server_peer", "all"), framed(frames.slice(1)));
console.log("seeds written", frames.length);
