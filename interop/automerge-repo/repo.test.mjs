// Unmodified @automerge/automerge-repo Repos syncing through the LifeOS
// protocol engine: create, find, edit both ways, doc-unavailable, and the
// engine's refusal of a spoofed sender.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Repo, cbor, generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import { RelayProcess } from "./relay-process.mjs";

const relay = new RelayProcess();
after(() => relay.stop());

const waitFor = async (check, what, ms = 10000) => {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await check()) return;
    await new Promise(r => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
};

test("a document created in one repo is found, edited and synced back through the relay", async () => {
  const alice = new Repo({ network: [relay.adapter("alice")], peerId: "alice-phone" });
  const laptop = new Repo({ network: [relay.adapter("laptop")], peerId: "alice-laptop" });
  await alice.networkSubsystem.whenReady();
  await laptop.networkSubsystem.whenReady();

  const handle = alice.create({ tasks: { a: { title: "Call mom" } } });
  handle.change(d => { d.tasks.b = { title: "Water plants" }; });
  const found = await laptop.find(handle.url);
  await waitFor(() => found.doc()?.tasks?.b?.title === "Water plants", "the laptop to see both tasks");

  found.change(d => { d.tasks.a.title = "Call mom tonight"; });
  await waitFor(() => handle.doc().tasks.a.title === "Call mom tonight", "the phone to see the laptop's edit");
  assert.deepEqual(Object.keys(handle.doc().tasks).sort(), ["a", "b"]);
});

test("asking for a document nobody has ends unavailable", async () => {
  const repo = new Repo({ network: [relay.adapter("seeker")], peerId: "seeker" });
  await repo.networkSubsystem.whenReady();
  await assert.rejects(repo.find(generateAutomergeUrl()), /unavailable/i);
  const answers = relay.received.filter(r => r.conn === "seeker").map(r => cbor.decode(new Uint8Array(r.frame)).type);
  assert.deepEqual(answers, ["peer", "doc-unavailable"], "the relay itself said doc-unavailable");
});

test("the engine's frames decode with automerge-repo's own cbor, and a spoofed sender is refused", async () => {
  // Every frame the relay sent so far is a well-formed automerge-repo message.
  assert.ok(relay.received.length > 0);
  for (const { frame } of relay.received) {
    const m = cbor.decode(new Uint8Array(frame));
    assert.equal(typeof m.type, "string");
    assert.equal(typeof m.senderId, "string");
    if (m.type === "sync" || m.type === "request") {
      assert.ok(m.data instanceof Uint8Array && m.data.byteLength > 0, "data is a non-empty byte string");
      assert.equal(parseAutomergeUrl(`automerge:${m.documentId}`).documentId, m.documentId);
    }
  }
  // A connection that joined as "mallory" then claims to be "alice-phone".
  const before = relay.received.length;
  relay.write("mallory", cbor.encode({ type: "join", senderId: "mallory", peerMetadata: {}, supportedProtocolVersions: ["1"] }));
  const { documentId } = parseAutomergeUrl(generateAutomergeUrl());
  relay.write("mallory", cbor.encode({ type: "request", senderId: "alice-phone", targetId: "lifeos-relay", documentId, data: new Uint8Array([0x42, 0, 0, 0, 0]) }));
  await waitFor(() => relay.received.slice(before).some(r => r.conn === "mallory" && cbor.decode(new Uint8Array(r.frame)).type === "error"), "an error frame for mallory");
  const types = relay.received.slice(before).filter(r => r.conn === "mallory").map(r => cbor.decode(new Uint8Array(r.frame)).type);
  assert.deepEqual(types, ["peer", "error"]);
});

test("a client offering only an unknown protocol version gets an error", async () => {
  const before = relay.received.length;
  relay.write("future", cbor.encode({ type: "join", senderId: "future", peerMetadata: {}, supportedProtocolVersions: ["2"] }));
  await waitFor(() => relay.received.slice(before).some(r => r.conn === "future"), "an answer");
  const m = cbor.decode(new Uint8Array(relay.received.slice(before).find(r => r.conn === "future").frame));
  assert.equal(m.type, "error");
  assert.match(m.message, /unsupported protocol version/);
});
