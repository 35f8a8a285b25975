//! `lifeos-relay backup --out FILE` and `lifeos-relay restore --from FILE`:
//! every account, session, audit event and document of a relay in one
//! versioned archive that restores into an empty database of either backend
//! (so it also moves a relay from SQLite to Postgres).
//!
//! The archive is a zip: `manifest.json` (format, version, source backend,
//! rows per table) and one `<table>.jsonl` per table, each line a JSON
//! array of the row's values in the column order of `TABLES` (bytes as
//! base64, UUIDs and JSON as strings). Zip's CRC-32 catches damaged bytes,
//! the manifest's counts a truncated table.
//!
//! Consistency: the whole backup is read in one transaction (SQLite: one
//! read transaction, a snapshot of the WAL; Postgres: `REPEATABLE READ`),
//! so it is a moment of the database even while relays write to it. It is
//! written to `FILE.partial` and renamed once complete and synced.
//! A restore inserts everything in one transaction after checking that
//! the database holds no account and no document: a bad archive or a
//! failure part-way leaves the target as it was. Audit events are numbered
//! anew after any the target already had (a refused login before the
//! restore), in their original order.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::error::StartupError;
use crate::storage::{Storage, Store};

const FORMAT: &str = "lifeos-relay-backup";
/// The archive format this relay writes and the newest it reads.
pub const VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
/// Rows per INSERT statement when restoring.
const BATCH: usize = 200;

/// How a column is stored (each backend has its own SQL type for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Uuid,
    Text,
    Int,
    /// An id the database numbers: backed up, and numbered anew on restore
    /// (after any rows the target had, such as refused logins' audit events).
    Serial,
    /// A 32-bit integer in Postgres (an HTTP status).
    Int32,
    Bytes,
    /// A JSON object (`jsonb` in Postgres, text in SQLite).
    Json,
}

/// A table, its columns and the order its rows are written in.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    order: &'static str,
    /// Added after the first release of the archive format: an archive
    /// made before it has no entry for it, which restores as no rows.
    optional: bool,
}

/// Every table, parents before children (restore order).
const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            ("id", Kind::Uuid),
            ("email", Kind::Text),
            ("password_hash", Kind::Text),
            ("created_at", Kind::Int),
            ("disabled_at", Kind::Int),
            ("session_epoch", Kind::Int),
        ],
        order: "id",
        optional: false,
    },
    Table {
        name: "refresh_tokens",
        columns: &[
            ("token_hash", Kind::Bytes),
            ("user_id", Kind::Uuid),
            ("family_id", Kind::Uuid),
            ("created_at", Kind::Int),
            ("expires_at", Kind::Int),
            ("used_at", Kind::Int),
            ("revoked_at", Kind::Int),
        ],
        order: "token_hash",
        optional: false,
    },
    Table {
        name: "password_resets",
        columns: &[
            ("token_hash", Kind::Bytes),
            ("user_id", Kind::Uuid),
            ("created_at", Kind::Int),
            ("expires_at", Kind::Int),
            ("used_at", Kind::Int),
        ],
        order: "token_hash",
        optional: false,
    },
    Table {
        name: "audit_events",
        columns: &[
            ("id", Kind::Serial),
            ("user_id", Kind::Uuid),
            ("action", Kind::Text),
            ("at", Kind::Int),
            ("ip", Kind::Text),
            ("detail", Kind::Json),
        ],
        order: "id",
        optional: false,
    },
    Table {
        name: "documents",
        columns: &[
            ("id", Kind::Bytes),
            ("owner_id", Kind::Uuid),
            ("created_at", Kind::Int),
            ("snapshot", Kind::Bytes),
            ("snapshot_seq", Kind::Int),
            ("last_seq", Kind::Int),
        ],
        order: "id",
        optional: false,
    },
    Table {
        name: "changes",
        columns: &[
            ("document_id", Kind::Bytes),
            ("seq", Kind::Int),
            ("hash", Kind::Bytes),
            ("data", Kind::Bytes),
        ],
        order: "document_id, seq",
        optional: false,
    },
    Table {
        name: "idempotency_keys",
        columns: &[
            ("user_id", Kind::Uuid),
            ("key", Kind::Text),
            ("request_hash", Kind::Bytes),
            ("status", Kind::Int32),
            ("location", Kind::Text),
            ("body", Kind::Text),
            ("created_at", Kind::Int),
        ],
        order: "user_id, key",
        optional: false,
    },
    Table {
        name: "sessions",
        columns: &[
            ("id", Kind::Uuid),
            ("user_id", Kind::Uuid),
            ("created_at", Kind::Int),
            ("last_used_at", Kind::Int),
            ("user_agent", Kind::Text),
            ("ip", Kind::Text),
        ],
        order: "id",
        optional: true,
    },
    Table {
        name: "mfa_totp",
        columns: &[
            ("user_id", Kind::Uuid),
            ("secret", Kind::Bytes),
            ("created_at", Kind::Int),
            ("confirmed_at", Kind::Int),
            ("last_step", Kind::Int),
        ],
        order: "user_id",
        optional: true,
    },
    Table {
        name: "recovery_codes",
        columns: &[
            ("user_id", Kind::Uuid),
            ("code_hash", Kind::Bytes),
            ("used_at", Kind::Int),
        ],
        order: "user_id, code_hash",
        optional: true,
    },
    Table {
        name: "mfa_challenges",
        columns: &[
            ("token_hash", Kind::Bytes),
            ("user_id", Kind::Uuid),
            ("created_at", Kind::Int),
            ("expires_at", Kind::Int),
            ("failures", Kind::Int),
            ("used_at", Kind::Int),
        ],
        order: "token_hash",
        optional: true,
    },
    Table {
        name: "sync_tickets",
        columns: &[
            ("ticket_hash", Kind::Bytes),
            ("user_id", Kind::Uuid),
            ("generation", Kind::Int),
            ("session_id", Kind::Uuid),
            ("token_expires_at", Kind::Int),
            ("expires_at", Kind::Int),
        ],
        order: "ticket_hash",
        optional: true,
    },
];

/// One column's value, whatever the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Int(n) => (*n).into(),
            Value::Text(s) => s.clone().into(),
            Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b).into(),
        }
    }

    fn from_json(kind: Kind, json: &serde_json::Value) -> Result<Value, String> {
        Ok(match (kind, json) {
            (_, serde_json::Value::Null) => Value::Null,
            (Kind::Int | Kind::Serial | Kind::Int32, serde_json::Value::Number(n)) => {
                Value::Int(n.as_i64().ok_or("not a 64-bit integer")?)
            }
            (Kind::Uuid, serde_json::Value::String(s)) => {
                let id: uuid::Uuid = s.parse().map_err(|_| "not a UUID")?;
                Value::Text(id.to_string())
            }
            (Kind::Json, serde_json::Value::String(s)) => {
                serde_json::from_str::<serde_json::Value>(s).map_err(|_| "not JSON")?;
                Value::Text(s.clone())
            }
            (Kind::Text, serde_json::Value::String(s)) => Value::Text(s.clone()),
            (Kind::Bytes, serde_json::Value::String(s)) => Value::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|_| "not base64")?,
            ),
            _ => return Err(format!("a {kind:?} value was expected")),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    /// RFC 3339, when the backup's transaction began.
    created_at: String,
    /// `sqlite` or `postgres`.
    source: String,
    /// Rows per table.
    tables: BTreeMap<String, u64>,
}

/// Rows per table of a backup or restore, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Each table and its rows, in restore order.
    pub tables: Vec<(&'static str, u64)>,
}

impl Summary {
    /// The rows of `table`.
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|(name, _)| *name == table)
            .map_or(0, |(_, n)| *n)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .tables
            .iter()
            .map(|(name, rows)| format!("{name} {rows}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// What moves between the database side and the archive side.
enum Item {
    /// The rows that follow belong to `TABLES[i]`.
    Table(usize),
    Row(Vec<Value>),
    /// Everything was read and checked (restore: commit now).
    End,
}

fn failed(what: impl fmt::Display) -> StartupError {
    StartupError::Backup(what.to_string())
}

/// Writes a backup of `store` to `out`; returns what it holds.
pub async fn backup(store: &Store, out: &Path) -> Result<Summary, StartupError> {
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let (tx, rx) = mpsc::channel::<Item>(256);
    let source = store.backend();
    let writing = {
        let partial = partial.clone();
        tokio::task::spawn_blocking(move || write_archive(&partial, rx, source))
    };
    let read = match store {
        Store::Sqlite(s) => {
            let conn = s.connection();
            tokio::task::spawn_blocking(move || dump_sqlite(&conn, &tx))
                .await
                .map_err(failed)?
        }
        Store::Postgres(p) => dump_postgres(p.pool(), tx).await,
    };
    let written = writing.await.map_err(failed)?;
    // When the writer failed, the reader only saw it stop: the writer's error is the cause.
    let result = match (read, written) {
        (Ok(()), Ok(summary)) => Ok(summary),
        (_, Err(e)) | (Err(e), Ok(_)) => Err(e),
    };
    match result {
        Ok(summary) => {
            std::fs::rename(&partial, out).map_err(|e| {
                failed(format!(
                    "cannot move {} to {}: {e}",
                    partial.display(),
                    out.display()
                ))
            })?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                // The rename itself must survive a crash.
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// Restores the archive at `from` into `store`, which must hold no account
/// and no document; everything or nothing.
pub async fn restore(store: &Store, from: &Path) -> Result<Summary, StartupError> {
    store.migrate().await.map_err(failed)?;
    let (tx, rx) = mpsc::channel::<Item>(256);
    let reading = {
        let from = from.to_path_buf();
        tokio::task::spawn_blocking(move || read_archive(&from, &tx))
    };
    let loaded = match store {
        Store::Sqlite(s) => {
            let conn = s.connection();
            tokio::task::spawn_blocking(move || load_sqlite(&conn, rx))
                .await
                .map_err(failed)?
        }
        Store::Postgres(p) => load_postgres(p.pool(), rx).await,
    };
    let read = reading.await.map_err(failed)?;
    match (read, loaded) {
        (Ok(summary), Ok(())) => Ok(summary),
        // The database side stopped first (the target is not empty...): its reason.
        (Err(None), Err(e)) | (Ok(_), Err(e)) => Err(e),
        // A bad archive: the database side saw it end early and rolled back.
        (Err(Some(e)), _) => Err(e),
        (Err(None), Ok(())) => Err(failed("the restore stopped early")),
    }
}

fn write_archive(
    path: &Path,
    mut rx: mpsc::Receiver<Item>,
    source: &str,
) -> Result<Summary, StartupError> {
    let io = |e: std::io::Error| failed(format!("{}: {e}", path.display()));
    let zip_error = |e: zip::result::ZipError| failed(format!("{}: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(io)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut counts: Vec<(&'static str, u64)> = Vec::new();
    while let Some(item) = rx.blocking_recv() {
        match item {
            Item::Table(i) => {
                zip.start_file(format!("{}.jsonl", TABLES[i].name), options)
                    .map_err(zip_error)?;
                counts.push((TABLES[i].name, 0));
            }
            Item::Row(row) => {
                let line: Vec<serde_json::Value> = row.iter().map(Value::to_json).collect();
                serde_json::to_writer(&mut zip, &line).map_err(failed)?;
                zip.write_all(b"\n").map_err(io)?;
                if let Some((_, n)) = counts.last_mut() {
                    *n += 1;
                }
            }
            Item::End => {}
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        created_at,
        source: source.into(),
        tables: counts
            .iter()
            .map(|(name, n)| ((*name).to_string(), *n))
            .collect(),
    };
    zip.start_file(MANIFEST, options).map_err(zip_error)?;
    serde_json::to_writer_pretty(&mut zip, &manifest).map_err(failed)?;
    let writer = zip.finish().map_err(zip_error)?;
    let file = writer
        .into_inner()
        .map_err(|e| failed(format!("{}: {e}", path.display())))?;
    file.sync_all().map_err(io)?;
    Ok(Summary { tables: counts })
}

/// Reads and checks the archive, sending its rows to the database side.
/// `Err(None)`: the database side stopped taking them (it says why).
fn read_archive(path: &Path, tx: &mpsc::Sender<Item>) -> Result<Summary, Option<StartupError>> {
    read_entries(path, tx).map_err(|e| match e {
        ReadError::Bad(e) => Some(e),
        ReadError::Closed => None,
    })
}

enum ReadError {
    Bad(StartupError),
    Closed,
}

impl From<StartupError> for ReadError {
    fn from(e: StartupError) -> Self {
        ReadError::Bad(e)
    }
}

fn read_entries(path: &Path, tx: &mpsc::Sender<Item>) -> Result<Summary, ReadError> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| failed(format!("{name}: {e}")))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| failed(format!("{name} is not a LifeOS backup (not a zip: {e})")))?;
    let manifest: Manifest = {
        let entry = zip
            .by_name(MANIFEST)
            .map_err(|_| failed(format!("{name} is not a LifeOS backup (no {MANIFEST})")))?;
        serde_json::from_reader(entry)
            .map_err(|e| failed(format!("{name}: {MANIFEST} is not readable: {e}")))?
    };
    if manifest.format != FORMAT {
        return Err(ReadError::Bad(failed(format!(
            "{name} is not a LifeOS backup (format {:?})",
            manifest.format
        ))));
    }
    if manifest.version > VERSION {
        return Err(ReadError::Bad(failed(format!(
            "{name} was made by a newer lifeos-relay (backup format {}; this one reads up to {VERSION}): restore it with that version",
            manifest.version
        ))));
    }
    let closed = || ReadError::Closed;
    let mut counts = Vec::new();
    for (i, table) in TABLES.iter().enumerate() {
        let expected = match manifest.tables.get(table.name) {
            Some(n) => *n,
            None if table.optional => {
                tx.blocking_send(Item::Table(i)).map_err(|_| closed())?;
                counts.push((table.name, 0));
                continue;
            }
            None => {
                return Err(ReadError::Bad(failed(format!(
                    "{name}: the manifest does not list table {}",
                    table.name
                ))));
            }
        };
        let entry_name = format!("{}.jsonl", table.name);
        let entry = zip
            .by_name(&entry_name)
            .map_err(|_| failed(format!("{name}: {entry_name} is missing")))?;
        tx.blocking_send(Item::Table(i)).map_err(|_| closed())?;
        let mut rows = 0u64;
        for (n, line) in BufReader::new(entry).lines().enumerate() {
            let at = |what: String| failed(format!("{name}: {entry_name} line {}: {what}", n + 1));
            // A damaged entry fails its CRC check here.
            let line = line.map_err(|e| at(e.to_string()))?;
            let values: Vec<serde_json::Value> =
                serde_json::from_str(&line).map_err(|e| at(format!("not a JSON array: {e}")))?;
            if values.len() != table.columns.len() {
                return Err(ReadError::Bad(at(format!(
                    "{} values, expected {}",
                    values.len(),
                    table.columns.len()
                ))));
            }
            let row = values
                .iter()
                .zip(table.columns)
                .map(|(v, (column, kind))| {
                    Value::from_json(*kind, v).map_err(|e| at(format!("{column}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            tx.blocking_send(Item::Row(row)).map_err(|_| closed())?;
            rows += 1;
        }
        if rows != expected {
            return Err(ReadError::Bad(failed(format!(
                "{name}: {entry_name} holds {rows} rows, the manifest says {expected}: the archive is damaged"
            ))));
        }
        counts.push((table.name, rows));
    }
    tx.blocking_send(Item::End).map_err(|_| closed())?;
    Ok(Summary { tables: counts })
}

// --- SQLite ---------------------------------------------------------------

fn dump_sqlite(
    conn: &Arc<Mutex<rusqlite::Connection>>,
    tx: &mpsc::Sender<Item>,
) -> Result<(), StartupError> {
    use rusqlite::types::ValueRef;
    let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
    // One read transaction: a consistent snapshot while relays keep writing.
    let t = conn.transaction().map_err(failed)?;
    let closed = || failed("the archive writer stopped");
    for (i, table) in TABLES.iter().enumerate() {
        tx.blocking_send(Item::Table(i)).map_err(|_| closed())?;
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            table.name,
            table.order
        );
        let mut stmt = t.prepare(&sql).map_err(failed)?;
        let mut rows = stmt.query([]).map_err(failed)?;
        while let Some(row) = rows.next().map_err(failed)? {
            let mut values = Vec::with_capacity(columns.len());
            for (c, (column, kind)) in table.columns.iter().enumerate() {
                let value = match (kind, row.get_ref(c).map_err(failed)?) {
                    (_, ValueRef::Null) => Value::Null,
                    (Kind::Int | Kind::Serial | Kind::Int32, ValueRef::Integer(n)) => Value::Int(n),
                    (Kind::Uuid | Kind::Text | Kind::Json, ValueRef::Text(s)) => {
                        Value::Text(String::from_utf8_lossy(s).into_owned())
                    }
                    (Kind::Bytes, ValueRef::Blob(b)) => Value::Bytes(b.to_vec()),
                    (_, other) => {
                        return Err(failed(format!(
                            "{}.{column} holds a {:?} value where a {kind:?} was expected",
                            table.name,
                            other.data_type()
                        )));
                    }
                };
                values.push(value);
            }
            tx.blocking_send(Item::Row(values)).map_err(|_| closed())?;
        }
    }
    tx.blocking_send(Item::End).map_err(|_| closed())?;
    Ok(())
}

fn load_sqlite(
    conn: &Arc<Mutex<rusqlite::Connection>>,
    mut rx: mpsc::Receiver<Item>,
) -> Result<(), StartupError> {
    let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
    let t = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(failed)?;
    let held: i64 = t
        .query_row(
            "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM documents)",
            [],
            |r| r.get(0),
        )
        .map_err(failed)?;
    if held > 0 {
        return Err(not_empty());
    }
    let insert = |table: &Table, rows: &mut Vec<Vec<Value>>| -> Result<(), StartupError> {
        if rows.is_empty() {
            return Ok(());
        }
        let restored = restored_columns(table);
        let one = format!("({})", vec!["?"; restored.len()].join(", "));
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            restored.join(", "),
            vec![one; rows.len()].join(", ")
        );
        let params: Vec<rusqlite::types::Value> = rows
            .drain(..)
            .flat_map(|row| restored_values(table, row))
            .map(|v| match v {
                Value::Null => rusqlite::types::Value::Null,
                Value::Int(n) => rusqlite::types::Value::Integer(n),
                Value::Text(s) => rusqlite::types::Value::Text(s),
                Value::Bytes(b) => rusqlite::types::Value::Blob(b),
            })
            .collect();
        t.execute(&sql, rusqlite::params_from_iter(params))
            .map_err(|e| failed(format!("restoring {}: {e}", table.name)))?;
        Ok(())
    };
    let mut current: Option<&Table> = None;
    let mut rows = Vec::new();
    let mut complete = false;
    while let Some(item) = rx.blocking_recv() {
        match item {
            Item::Table(i) => {
                if let Some(table) = current {
                    insert(table, &mut rows)?;
                }
                current = Some(&TABLES[i]);
            }
            Item::Row(row) => {
                rows.push(row);
                if rows.len() >= BATCH
                    && let Some(table) = current
                {
                    insert(table, &mut rows)?;
                }
            }
            Item::End => {
                if let Some(table) = current {
                    insert(table, &mut rows)?;
                }
                complete = true;
            }
        }
    }
    if !complete {
        // The archive side failed; its error is the one reported.
        return Err(failed("the archive was not read to its end"));
    }
    t.commit().map_err(failed)
}

// --- Postgres -------------------------------------------------------------

async fn dump_postgres(pool: &sqlx::PgPool, tx: mpsc::Sender<Item>) -> Result<(), StartupError> {
    use futures_util::TryStreamExt as _;
    use sqlx::Row as _;
    let mut t = pool.begin().await.map_err(failed)?;
    // One snapshot for every table, while relays keep writing.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *t)
        .await
        .map_err(failed)?;
    let closed = || failed("the archive writer stopped");
    for (i, table) in TABLES.iter().enumerate() {
        tx.send(Item::Table(i)).await.map_err(|_| closed())?;
        let select: Vec<String> = table
            .columns
            .iter()
            .map(|(c, kind)| match kind {
                Kind::Uuid | Kind::Json => format!("{c}::text"),
                Kind::Int32 => format!("{c}::bigint"),
                _ => (*c).to_string(),
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            select.join(", "),
            table.name,
            table.order
        );
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *t);
        while let Some(row) = rows.try_next().await.map_err(failed)? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (c, (_, kind)) in table.columns.iter().enumerate() {
                let value = match kind {
                    Kind::Int | Kind::Serial | Kind::Int32 => row
                        .try_get::<Option<i64>, _>(c)
                        .map_err(failed)?
                        .map(Value::Int),
                    Kind::Uuid | Kind::Text | Kind::Json => row
                        .try_get::<Option<String>, _>(c)
                        .map_err(failed)?
                        .map(Value::Text),
                    Kind::Bytes => row
                        .try_get::<Option<Vec<u8>>, _>(c)
                        .map_err(failed)?
                        .map(Value::Bytes),
                };
                values.push(value.unwrap_or(Value::Null));
            }
            tx.send(Item::Row(values)).await.map_err(|_| closed())?;
        }
    }
    tx.send(Item::End).await.map_err(|_| closed())?;
    t.commit().await.map_err(failed)
}

async fn load_postgres(
    pool: &sqlx::PgPool,
    mut rx: mpsc::Receiver<Item>,
) -> Result<(), StartupError> {
    let mut t = pool.begin().await.map_err(failed)?;
    // No relay may write while the restore runs (and none should be running).
    sqlx::query("LOCK TABLE users, documents IN EXCLUSIVE MODE")
        .execute(&mut *t)
        .await
        .map_err(failed)?;
    let held: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM documents)",
    )
    .fetch_one(&mut *t)
    .await
    .map_err(failed)?;
    if held > 0 {
        return Err(not_empty());
    }
    let mut current: Option<&Table> = None;
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut complete = false;
    while let Some(item) = rx.recv().await {
        match item {
            Item::Table(i) => {
                if let Some(table) = current {
                    insert_postgres(&mut t, table, &mut rows).await?;
                }
                current = Some(&TABLES[i]);
            }
            Item::Row(row) => {
                rows.push(row);
                if rows.len() >= BATCH
                    && let Some(table) = current
                {
                    insert_postgres(&mut t, table, &mut rows).await?;
                }
            }
            Item::End => {
                if let Some(table) = current {
                    insert_postgres(&mut t, table, &mut rows).await?;
                }
                complete = true;
            }
        }
    }
    if !complete {
        return Err(failed("the archive was not read to its end"));
    }
    t.commit().await.map_err(failed)
}

async fn insert_postgres(
    t: &mut sqlx::PgConnection,
    table: &Table,
    rows: &mut Vec<Vec<Value>>,
) -> Result<(), StartupError> {
    if rows.is_empty() {
        return Ok(());
    }
    let columns: Vec<(&str, Kind)> = table
        .columns
        .iter()
        .filter(|(_, kind)| *kind != Kind::Serial)
        .copied()
        .collect();
    let width = columns.len();
    let tuples: Vec<String> = (0..rows.len())
        .map(|r| {
            let cells: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(c, (_, kind))| {
                    let n = r * width + c + 1;
                    match kind {
                        Kind::Uuid => format!("${n}::uuid"),
                        Kind::Json => format!("${n}::jsonb"),
                        Kind::Int32 => format!("${n}::integer"),
                        _ => format!("${n}"),
                    }
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        restored_columns(table).join(", "),
        tuples.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in rows.drain(..) {
        for (value, (_, kind)) in restored_values(table, row).into_iter().zip(&columns) {
            query = match (kind, value) {
                (Kind::Int | Kind::Serial | Kind::Int32, Value::Int(n)) => query.bind(n),
                (Kind::Int | Kind::Serial | Kind::Int32, _) => query.bind(None::<i64>),
                (Kind::Bytes, Value::Bytes(b)) => query.bind(b),
                (Kind::Bytes, _) => query.bind(None::<Vec<u8>>),
                (_, Value::Text(s)) => query.bind(s),
                (_, _) => query.bind(None::<String>),
            };
        }
    }
    query
        .execute(&mut *t)
        .await
        .map_err(|e| failed(format!("restoring {}: {e}", table.name)))?;
    Ok(())
}

/// The columns a restore writes: all but the ones the database numbers.
fn restored_columns(table: &Table) -> Vec<&'static str> {
    table
        .columns
        .iter()
        .filter(|(_, kind)| *kind != Kind::Serial)
        .map(|(c, _)| *c)
        .collect()
}

/// `row`'s values for [`restored_columns`].
fn restored_values(table: &Table, row: Vec<Value>) -> Vec<Value> {
    row.into_iter()
        .zip(table.columns)
        .filter(|(_, (_, kind))| *kind != Kind::Serial)
        .map(|(v, _)| v)
        .collect()
}

fn not_empty() -> StartupError {
    failed(
        "the target database already holds accounts or documents; restore into a new, empty database (nothing was changed)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_json_by_kind() {
        let cases = [
            (Kind::Int, Value::Int(-7)),
            (Kind::Serial, Value::Int(42)),
            (Kind::Int32, Value::Int(201)),
            (Kind::Text, Value::Text("a \"quoted\"\nline".into())),
            (
                Kind::Uuid,
                Value::Text("0192f0c1-0000-7000-8000-000000000001".into()),
            ),
            (Kind::Json, Value::Text("{\"document\":\"x\"}".into())),
            (Kind::Bytes, Value::Bytes(vec![0, 1, 254, 255])),
            (Kind::Bytes, Value::Null),
        ];
        for (kind, value) in cases {
            assert_eq!(Value::from_json(kind, &value.to_json()).unwrap(), value);
        }
        assert!(Value::from_json(Kind::Uuid, &"not-a-uuid".into()).is_err());
        assert!(Value::from_json(Kind::Bytes, &"%%%".into()).is_err());
        assert!(Value::from_json(Kind::Int, &"12".into()).is_err());
        assert!(Value::from_json(Kind::Json, &"{".into()).is_err());
    }

    #[test]
    fn every_table_of_the_schema_is_backed_up() {
        // The tables the migrations create, minus SQLite's own bookkeeping.
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for (_, sql) in crate::storage::sqlite_migrations() {
            conn.execute_batch(sql).unwrap();
        }
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        let mut tables: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        tables.retain(|t| t != "schema_migrations");
        let mut ours: Vec<String> = TABLES.iter().map(|t| t.name.to_string()).collect();
        ours.sort();
        assert_eq!(tables, ours, "a new table needs a place in TABLES");
        for table in TABLES {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{}')",
                    table.name
                ))
                .unwrap();
            let mut columns: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            columns.sort();
            let mut listed: Vec<String> =
                table.columns.iter().map(|(c, _)| c.to_string()).collect();
            listed.sort();
            assert_eq!(columns, listed, "{}: every column is backed up", table.name);
        }
    }
}
