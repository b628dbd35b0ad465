// The CouchDB-protocol peer's devices for bench/sync.py: PouchDB replicas (memory adapter) that edit
// offline and replicate with pouchdb-server over HTTP, exactly as a PouchDB app would.
//
// Usage: node replicate.js <remote database URL>
// Reads one JSON command per line on stdin and answers one JSON line on stdout:
//   {"cmd": "open", "device": "A"}                          a new, empty replica
//   {"cmd": "sync", "device": "A"}                          one-shot PouchDB.sync (push and pull together)
//   {"cmd": "edit", "device": "A", "edits": [...]}          local edits (the bench's abstract edit list)
//   {"cmd": "resolve", "device": "A"}                        merge conflicted documents locally
//   {"cmd": "state", "device": "A"}                          a digest of the replica's documents
//   {"cmd": "quit"}
// Data model (one document per credential with its metadata, collections as documents):
//   {_id: "sha256:…", credential: {…}, note, hidden, pinned, order_key, tags: [...], stamps: {field: t}}
//   {_id: "coll:<uuid>", name, order_key, members: [cred, …], stamps: {field: t}}
// `stamps` let a device merge concurrent edits field by field when it resolves a conflict (what a
// CouchDB app must do itself to lose no edit; the wallet protocol does it on the server).
'use strict';

const crypto = require('crypto');
const readline = require('readline');
const PouchDB = require('pouchdb-core')
  .plugin(require('pouchdb-adapter-memory'))
  .plugin(require('pouchdb-adapter-http'))
  .plugin(require('pouchdb-replication'));

const remoteUrl = process.argv[2];
const devices = new Map();
let clock = 0;

function stamp(device) {
  clock += 1;
  return `${String(Date.now()).padStart(13, '0')}-${String(clock).padStart(6, '0')}-${device}`;
}

function replica(name) {
  const found = devices.get(name);
  if (!found) throw new Error(`unknown device ${name}`);
  return found;
}

async function open(name) {
  devices.set(name, {
    local: new PouchDB(`device-${name}-${crypto.randomUUID()}`, { adapter: 'memory' }),
    remote: new PouchDB(remoteUrl, { skip_setup: true }),
  });
  return {};
}

async function sync(name) {
  const { local, remote } = replica(name);
  const result = await PouchDB.sync(local, remote);
  return {
    pushed: result.push.docs_written,
    pulled: result.pull.docs_written,
    read: result.push.docs_read + result.pull.docs_read,
  };
}

async function editDoc(local, id, change) {
  const doc = await local.get(id);
  change(doc);
  await local.put(doc);
}

async function edit(name, edits) {
  const { local } = replica(name);
  for (const e of edits) {
    const t = stamp(name);
    if (e.op === 'remove') {
      const doc = await local.get(e.cred);
      await local.remove(doc);
    } else if (e.op === 'tag.add' || e.op === 'tag.remove') {
      await editDoc(local, e.cred, (doc) => {
        const tags = new Set(doc.tags);
        if (e.op === 'tag.add') tags.add(e.tag); else tags.delete(e.tag);
        doc.tags = [...tags].sort();
        doc.stamps.tags = t;
      });
    } else if (e.op === 'note' || e.op === 'pinned' || e.op === 'hidden') {
      await editDoc(local, e.cred, (doc) => { doc[e.op] = e.value; doc.stamps[e.op] = t; });
    } else if (e.op === 'member.add') {
      await editDoc(local, `coll:${e.coll}`, (doc) => {
        if (!doc.members.includes(e.cred)) doc.members.push(e.cred);
        doc.stamps.members = t;
      });
    } else {
      throw new Error(`unknown edit ${e.op}`);
    }
  }
  return { edits: edits.length };
}

// Field-wise merge of a conflicted document's leaves: sets (tags, members) unite, every other field
// takes the value with the latest stamp. The winner gets the merged body; the losers are deleted.
function merge(leaves) {
  const merged = { ...leaves[0], stamps: { ...leaves[0].stamps } };
  for (const leaf of leaves.slice(1)) {
    for (const [field, t] of Object.entries(leaf.stamps || {})) {
      if (field === 'tags' || field === 'members') {
        merged[field] = [...new Set([...merged[field], ...leaf[field]])].sort();
        if (!merged.stamps[field] || t > merged.stamps[field]) merged.stamps[field] = t;
      } else if (!merged.stamps[field] || t > merged.stamps[field]) {
        merged[field] = leaf[field];
        merged.stamps[field] = t;
      }
    }
  }
  return merged;
}

async function resolve(name) {
  const { local } = replica(name);
  const all = await local.allDocs({ include_docs: true, conflicts: true });
  let resolved = 0;
  for (const row of all.rows) {
    const winner = row.doc;
    if (!winner || !winner._conflicts) continue;
    const losers = await Promise.all(winner._conflicts.map((rev) => local.get(row.id, { rev })));
    const merged = merge([winner, ...losers]);
    merged._rev = winner._rev;
    delete merged._conflicts;
    await local.bulkDocs([merged, ...losers.map((l) => ({ _id: l._id, _rev: l._rev, _deleted: true }))]);
    resolved += 1;
  }
  return { resolved };
}

async function state(name) {
  const { local } = replica(name);
  const all = await local.allDocs({ include_docs: true, conflicts: true });
  const hash = crypto.createHash('sha256');
  let conflicts = 0;
  let docs = 0;
  for (const row of all.rows) {
    if (row.id.startsWith('_design/')) continue;
    const { _rev, _conflicts, stamps, ...body } = row.doc;
    if (_conflicts) conflicts += _conflicts.length;
    docs += 1;
    hash.update(JSON.stringify([row.id, body]));
  }
  return { digest: hash.digest('hex'), docs, conflicts };
}

const handlers = {
  open: (c) => open(c.device),
  sync: (c) => sync(c.device),
  edit: (c) => edit(c.device, c.edits),
  resolve: (c) => resolve(c.device),
  state: (c) => state(c.device),
};

async function main() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const command = JSON.parse(line);
    if (command.cmd === 'quit') break;
    let answer;
    try {
      answer = { ok: true, ...(await handlers[command.cmd](command)) };
    } catch (error) {
      answer = { ok: false, error: String(error && error.stack ? error.stack : error) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
  process.exit(0);
}

main();
