//! IndexedDB, the browser's durable store: database `lifeos` with object
//! stores `snapshots` (document id → full save), `chunks` ([document id,
//! key] → changes), `quarantine` (damaged records set aside) and `meta`.
//! Every [`Write`] batch is one transaction: it lands whole or not at all.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    IdbDatabase, IdbKeyRange, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode,
};

use crate::engine::{Stored, Write};

const NAME: &str = "lifeos";
const VERSION: u32 = 1;
const SNAPSHOTS: &str = "snapshots";
const CHUNKS: &str = "chunks";
const QUARANTINE: &str = "quarantine";
const META: &str = "meta";
const META_KEY: &str = "state";

/// An open `lifeos` database.
#[derive(Clone)]
pub struct Db(IdbDatabase);

/// Waits for a request to succeed or fail, then drops its callbacks.
async fn wait(request: &IdbRequest) -> Result<JsValue, JsValue> {
    let (tx, rx) = oneshot::channel::<Result<JsValue, JsValue>>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let (t1, r1) = (tx.clone(), request.clone());
    let ok = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(t) = t1.borrow_mut().take() {
            let _ = t.send(r1.result());
        }
    });
    let (t2, r2) = (tx, request.clone());
    let err = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(t) = t2.borrow_mut().take() {
            let e = r2
                .error()
                .ok()
                .flatten()
                .map_or(JsValue::NULL, JsValue::from);
            let _ = t.send(Err(e));
        }
    });
    request.set_onsuccess(Some(ok.as_ref().unchecked_ref()));
    request.set_onerror(Some(err.as_ref().unchecked_ref()));
    let out = rx
        .await
        .unwrap_or_else(|_| Err(JsValue::from_str("request dropped")));
    request.set_onsuccess(None);
    request.set_onerror(None);
    out
}

/// Waits until a transaction commits (or fails).
async fn done(tx: &IdbTransaction) -> Result<(), JsValue> {
    let (sender, rx) = oneshot::channel::<Result<(), JsValue>>();
    let sender = Rc::new(RefCell::new(Some(sender)));
    let s1 = sender.clone();
    let ok = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(t) = s1.borrow_mut().take() {
            let _ = t.send(Ok(()));
        }
    });
    let (s2, t2) = (sender, tx.clone());
    let err = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(t) = s2.borrow_mut().take() {
            let e = t2
                .error()
                .map_or(JsValue::from_str("transaction aborted"), JsValue::from);
            let _ = t.send(Err(e));
        }
    });
    tx.set_oncomplete(Some(ok.as_ref().unchecked_ref()));
    tx.set_onerror(Some(err.as_ref().unchecked_ref()));
    tx.set_onabort(Some(err.as_ref().unchecked_ref()));
    let out = rx
        .await
        .unwrap_or_else(|_| Err(JsValue::from_str("transaction dropped")));
    tx.set_oncomplete(None);
    tx.set_onerror(None);
    tx.set_onabort(None);
    out
}

fn chunk_key(doc: &str, key: f64) -> JsValue {
    Array::of2(&JsValue::from_str(doc), &JsValue::from_f64(key)).into()
}

fn bytes(value: &JsValue) -> Option<Vec<u8>> {
    value.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec)
}

/// A readable message for a JS error value.
pub fn describe(e: &JsValue) -> String {
    if let Some(ex) = e.dyn_ref::<web_sys::DomException>() {
        return format!("{}: {}", ex.name(), ex.message());
    }
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

impl Db {
    /// Opens (creating or upgrading) the database.
    pub async fn open() -> Result<Db, JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        let factory = window
            .indexed_db()?
            .ok_or("this browser has no IndexedDB (private mode?)")?;
        let request: IdbOpenDbRequest = factory.open_with_u32(NAME, VERSION)?;
        let upgrade = Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new(
            move |e: web_sys::IdbVersionChangeEvent| {
                let Some(target) = e.target() else { return };
                let Ok(req) = target.dyn_into::<IdbOpenDbRequest>() else {
                    return;
                };
                let Ok(db) = req.result().and_then(|r| r.dyn_into::<IdbDatabase>()) else {
                    return;
                };
                let names = db.object_store_names();
                for store in [SNAPSHOTS, CHUNKS, QUARANTINE, META] {
                    if !names.contains(store) {
                        let _ = db.create_object_store(store);
                    }
                }
            },
        );
        request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let db = wait(&request).await;
        request.set_onupgradeneeded(None);
        drop(upgrade);
        Ok(Db(db?.dyn_into()?))
    }

    /// Everything stored, read in one transaction.
    pub async fn read_all(&self) -> Result<Stored, JsValue> {
        let stores = Array::of3(&SNAPSHOTS.into(), &CHUNKS.into(), &META.into());
        let tx = self.0.transaction_with_str_sequence(&stores)?;
        let snapshots = tx.object_store(SNAPSHOTS)?;
        let chunks = tx.object_store(CHUNKS)?;
        let meta = tx.object_store(META)?;
        let snap_keys = snapshots.get_all_keys()?;
        let snap_values = snapshots.get_all()?;
        let chunk_keys = chunks.get_all_keys()?;
        let chunk_values = chunks.get_all()?;
        let meta_value = meta.get(&JsValue::from_str(META_KEY))?;

        let mut stored = Stored::default();
        let keys: Array = wait(&snap_keys).await?.dyn_into()?;
        let values: Array = wait(&snap_values).await?.dyn_into()?;
        for (k, v) in keys.iter().zip(values.iter()) {
            if let (Some(k), Some(v)) = (k.as_string(), bytes(&v)) {
                stored.snapshots.insert(k, v);
            }
        }
        let keys: Array = wait(&chunk_keys).await?.dyn_into()?;
        let values: Array = wait(&chunk_values).await?.dyn_into()?;
        for (k, v) in keys.iter().zip(values.iter()) {
            let k: Array = k.dyn_into()?;
            if let (Some(doc), Some(n), Some(v)) =
                (k.get(0).as_string(), k.get(1).as_f64(), bytes(&v))
            {
                stored.chunks.push((doc, n, v));
            }
        }
        stored.meta = wait(&meta_value).await?.as_string();
        Ok(stored)
    }

    /// Applies a batch of writes in one transaction.
    pub async fn write(&self, writes: &[Write]) -> Result<(), JsValue> {
        if writes.is_empty() {
            return Ok(());
        }
        let stores = Array::new();
        for s in [SNAPSHOTS, CHUNKS, QUARANTINE, META] {
            stores.push(&s.into());
        }
        let tx = self
            .0
            .transaction_with_str_sequence_and_mode(&stores, IdbTransactionMode::Readwrite)?;
        let snapshots = tx.object_store(SNAPSHOTS)?;
        let chunks = tx.object_store(CHUNKS)?;
        let quarantine = tx.object_store(QUARANTINE)?;
        let meta = tx.object_store(META)?;
        for w in writes {
            match w {
                Write::Snapshot(doc, b) => {
                    snapshots.put_with_key(&Uint8Array::from(b.as_slice()), &doc.into())?;
                }
                Write::Chunk(doc, k, b) => {
                    chunks.put_with_key(&Uint8Array::from(b.as_slice()), &chunk_key(doc, *k))?;
                }
                Write::DeleteChunk(doc, k) => {
                    chunks.delete(&chunk_key(doc, *k))?;
                }
                Write::DeleteSnapshot(doc) => {
                    snapshots.delete(&doc.into())?;
                    let range = IdbKeyRange::bound(
                        &chunk_key(doc, f64::NEG_INFINITY),
                        &chunk_key(doc, f64::INFINITY),
                    )?;
                    chunks.delete(&range)?;
                }
                Write::Quarantine { doc, chunk, bytes } => {
                    let at = js_sys::Date::now();
                    let key = Array::of3(
                        &doc.into(),
                        &chunk.map_or(JsValue::from_str("snapshot"), JsValue::from_f64),
                        &JsValue::from_f64(at),
                    );
                    quarantine.put_with_key(&Uint8Array::from(bytes.as_slice()), &key)?;
                    match chunk {
                        Some(k) => chunks.delete(&chunk_key(doc, *k))?,
                        None => snapshots.delete(&doc.into())?,
                    };
                }
                Write::Meta(json) => {
                    meta.put_with_key(&JsValue::from_str(json), &META_KEY.into())?;
                }
            }
        }
        done(&tx).await
    }

    /// Deletes every record (signing out).
    pub async fn clear(&self) -> Result<(), JsValue> {
        let stores = Array::new();
        for s in [SNAPSHOTS, CHUNKS, QUARANTINE, META] {
            stores.push(&s.into());
        }
        let tx = self
            .0
            .transaction_with_str_sequence_and_mode(&stores, IdbTransactionMode::Readwrite)?;
        for s in [SNAPSHOTS, CHUNKS, QUARANTINE, META] {
            tx.object_store(s)?.clear()?;
        }
        done(&tx).await
    }

    /// How many damaged records are kept aside.
    pub async fn quarantined(&self) -> Result<u32, JsValue> {
        let tx = self.0.transaction_with_str(QUARANTINE)?;
        let count = tx.object_store(QUARANTINE)?.count()?;
        Ok(wait(&count).await?.as_f64().unwrap_or(0.0) as u32)
    }
}
