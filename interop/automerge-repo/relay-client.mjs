// Two unmodified automerge-repo clients of one user, talking to the real
// LifeOS relay over its WebSocket endpoint with `?token=`: the first creates
// a document, the second finds it and edits it, and both then wait for an
// edit from a native LifeOS device (driven by the Rust test that runs this
// script: relay-server/tests/api/interop.rs).
//
// Usage: node relay-client.mjs ws://HOST:PORT/api/v1/sync?token=ACCESS
// Prints `document <id>` once both clients have both edits, then
// `native <value>` once the native device's edit reached the first client.
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

const url = process.argv[2];
if (!url) {
  console.error("usage: node relay-client.mjs SYNC_URL");
  process.exit(2);
}

const waitFor = async (check, what, ms = 20000) => {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (check()) return;
    await new Promise(r => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const phone = new Repo({ network: [new WebSocketClientAdapter(url)], peerId: `js-phone-${process.pid}` });
const laptop = new Repo({ network: [new WebSocketClientAdapter(url)], peerId: `js-laptop-${process.pid}` });

try {
  const handle = phone.create({ created: "by the JS phone" });
  // Only once the relay has stored the document can another device find it
  // (the relay does not route requests between peers). The relay's heads
  // including ours means exactly that (CONTRACT.md, Durability); automerge-repo
  // tracks them by the storage id the relay announced.
  const same = (a, b) => JSON.stringify([...(a ?? [])].sort()) === JSON.stringify([...(b ?? [])].sort());
  await waitFor(() => same(handle.getRemoteHeads("lifeos-relay"), handle.heads()), "the relay to store the new document");
  const found = await laptop.find(handle.url);
  await waitFor(() => found.doc()?.created === "by the JS phone", "the laptop to find the document");
  found.change(d => { d.edited = "by the JS laptop"; });
  await waitFor(() => handle.doc()?.edited === "by the JS laptop", "the phone to see the laptop's edit");
  console.log(`document ${handle.documentId}`);
  await waitFor(() => handle.doc()?.native !== undefined, "the native device's edit");
  console.log(`native ${handle.doc().native}`);
  process.exit(0);
} catch (e) {
  console.error(e);
  process.exit(1);
}
