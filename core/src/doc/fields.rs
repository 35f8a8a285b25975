//! Typed access to the fields of entity maps, shared by every domain document.
//!
//! Readers walk an entity's map once (`map_range`) and pick fields by name,
//! which is several times faster than one `get` per field (measured: 0.3 s vs
//! 1.8 s for 50,000 expenses). Values of an unexpected type are reported as
//! [`Error::Corrupt`] naming the field, never silently replaced.

use automerge::iter::MapRangeItem;
use automerge::transaction::Transactable;
use automerge::{
    AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ScalarValueRef, Value, ValueRef,
};

use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::time::{Date, Timestamp, format_date, parse_date};

/// The string in `v`, or a `Corrupt` error naming `field`.
pub(crate) fn str_of<'a>(field: &str, v: &'a ValueRef<'_>) -> Result<&'a str> {
    match v {
        ValueRef::Scalar(ScalarValueRef::Str(s)) => Ok(s.as_ref()),
        other => Err(wrong_type(field, "a string", other)),
    }
}

/// The integer in `v` (JS peers may send whole numbers as floats).
pub(crate) fn i64_of(field: &str, v: &ValueRef<'_>) -> Result<i64> {
    match v {
        ValueRef::Scalar(ScalarValueRef::Int(i)) => Ok(*i),
        ValueRef::Scalar(ScalarValueRef::Uint(u)) => {
            i64::try_from(*u).map_err(|_| wrong_type(field, "an integer", v))
        }
        ValueRef::Scalar(ScalarValueRef::Timestamp(t)) => Ok(*t),
        ValueRef::Scalar(ScalarValueRef::F64(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Ok(*f as i64)
        }
        other => Err(wrong_type(field, "an integer", other)),
    }
}

/// The number in `v`, as a float (numeric habit values).
pub(crate) fn f64_of(field: &str, v: &ValueRef<'_>) -> Result<f64> {
    match v {
        ValueRef::Scalar(ScalarValueRef::F64(f)) => Ok(*f),
        ValueRef::Scalar(ScalarValueRef::Int(i)) => Ok(*i as f64),
        ValueRef::Scalar(ScalarValueRef::Uint(u)) => Ok(*u as f64),
        other => Err(wrong_type(field, "a number", other)),
    }
}

/// The boolean in `v`.
pub(crate) fn bool_of(field: &str, v: &ValueRef<'_>) -> Result<bool> {
    match v {
        ValueRef::Scalar(ScalarValueRef::Boolean(b)) => Ok(*b),
        other => Err(wrong_type(field, "a boolean", other)),
    }
}

/// The calendar date stored as `YYYY-MM-DD` in `v`.
pub(crate) fn date_of(field: &'static str, v: &ValueRef<'_>) -> Result<Date> {
    parse_date(field, str_of(field, v)?).map_err(|e| Error::Corrupt(e.to_string()))
}

/// The entity id stored as a string in `v`.
pub(crate) fn id_of(field: &str, v: &ValueRef<'_>) -> Result<EntityId> {
    str_of(field, v)?
        .parse()
        .map_err(|_| Error::Corrupt(format!("{field} is not a UUID")))
}

/// Whether `v` is null (a cleared optional field written by another client).
pub(crate) fn is_null(v: &ValueRef<'_>) -> bool {
    matches!(v, ValueRef::Scalar(ScalarValueRef::Null))
}

fn wrong_type(field: &str, expected: &str, found: &ValueRef<'_>) -> Error {
    Error::Corrupt(format!("{field} should be {expected}, found {found:?}"))
}

/// The live entity `id` in collection `coll`: `NotFound` when absent or deleted.
pub(crate) fn live_entity(
    doc: &AutoCommit,
    coll: &ObjId,
    kind: &'static str,
    id: EntityId,
) -> Result<ObjId> {
    let not_found = || Error::NotFound {
        kind,
        id: id.to_string(),
    };
    let obj = match doc.get(coll, id.to_string())? {
        Some((automerge::Value::Object(ObjType::Map), obj)) => obj,
        _ => return Err(not_found()),
    };
    if doc.get(&obj, "deleted_at")?.is_some() {
        return Err(not_found());
    }
    Ok(obj)
}

/// Creates the map of a new entity under `coll`. Its creation time is not
/// stored: it is inside the (version 7) id, see [`EntityId::created_at`].
pub(crate) fn create_entity(doc: &mut AutoCommit, coll: &ObjId, id: EntityId) -> Result<ObjId> {
    let obj = doc.put_object(coll, id.to_string(), ObjType::Map)?;
    Ok(obj)
}

/// Marks an entity deleted. Its fields stay, so that an edit made concurrently
/// on another device is kept in the tombstone rather than lost (docs/schema.md).
pub(crate) fn tombstone(doc: &mut AutoCommit, obj: &ObjId, now: Timestamp) -> Result<()> {
    doc.put(obj, "deleted_at", now.as_millis())?;
    Ok(())
}

/// Sets or clears an optional date field.
pub(crate) fn put_opt_date(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<Date>,
) -> Result<()> {
    match value {
        Some(d) => doc.put(obj, key, format_date(d))?,
        None => {
            if doc.get(obj, key)?.is_some() {
                doc.delete(obj, key)?;
            }
        }
    }
    Ok(())
}

/// Sets or clears an optional string field.
pub(crate) fn put_opt_str(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<&str>,
) -> Result<()> {
    match value {
        Some(s) => doc.put(obj, key, s)?,
        None => {
            if doc.get(obj, key)?.is_some() {
                doc.delete(obj, key)?;
            }
        }
    }
    Ok(())
}

/// Key prefix of a field's edit stamp: `at:<field>` → the stamp of the edit
/// that wrote `<field>` (docs/schema.md, "Latest edit wins").
pub(crate) const STAMP: &str = "at:";

/// The stamp of an edit of entity `obj` made at `now` on this device: `now`,
/// or just after the newest stamp already on the entity if that is later.
///
/// This is a hybrid logical clock scoped to the entity: a device whose clock
/// is behind still stamps an edit after every edit of the entity it has seen,
/// so an edit made after seeing another's always ranks above it, and a device
/// whose clock runs ahead wins only against edits made without seeing its own.
pub(crate) fn next_stamp(doc: &AutoCommit, obj: &ObjId, now: Timestamp) -> i64 {
    let seen = doc
        .map_range(obj, STAMP.to_string()..format!("{}\u{10FFFF}", STAMP))
        .filter_map(|f| i64_of(&f.key, &f.value).ok())
        .max();
    match seen {
        Some(s) if s >= now.as_millis() => s.saturating_add(1),
        _ => now.as_millis(),
    }
}

/// Writes a user-facing field with its edit stamp, so that of two devices
/// editing it concurrently the later edit wins on every device.
pub(crate) fn put_latest(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: impl Into<ScalarValue>,
    stamp: i64,
) -> Result<()> {
    doc.put(obj, key, value)?;
    doc.put(obj, format!("{STAMP}{key}"), stamp)?;
    Ok(())
}

/// Clears an optional user-facing field with its edit stamp. A cleared field
/// holds `null` rather than being deleted: a deletion never wins against a
/// concurrent write, a stamped `null` does when it is the later edit.
pub(crate) fn clear_latest(doc: &mut AutoCommit, obj: &ObjId, key: &str, stamp: i64) -> Result<()> {
    match doc.get(obj, key)? {
        None => Ok(()),
        Some((Value::Scalar(s), _)) if s.is_null() => Ok(()),
        Some(_) => put_latest(doc, obj, key, ScalarValue::Null, stamp),
    }
}

/// Sets or clears an optional string field, stamped.
pub(crate) fn put_latest_opt_str(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<&str>,
    stamp: i64,
) -> Result<()> {
    match value {
        Some(v) => put_latest(doc, obj, key, v, stamp),
        None => clear_latest(doc, obj, key, stamp),
    }
}

/// Sets or clears an optional date field, stamped.
pub(crate) fn put_latest_opt_date(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<Date>,
    stamp: i64,
) -> Result<()> {
    put_latest_opt_str(doc, obj, key, value.map(format_date).as_deref(), stamp)
}

/// The value of a field of entity `obj` as met in a `map_range` of it, with a
/// conflict settled: when two devices wrote the field concurrently, the value
/// whose edit stamp is the latest. Each concurrent value comes from a
/// different device (one device's edits are ordered), so a value and its
/// stamp are paired by the actor that wrote them. Values without a stamp
/// (written by a client that does not stamp) rank below stamped ones; ties
/// keep Automerge's own choice, so every device settles alike.
pub(crate) fn settled<'a>(
    doc: &AutoCommit,
    obj: &ObjId,
    item: &MapRangeItem<'a>,
) -> Result<ValueRef<'a>> {
    if !item.conflict || item.key.starts_with(STAMP) || matches!(item.value, ValueRef::Object(_)) {
        return Ok(item.value.clone());
    }
    Ok(latest_of(doc, obj, &item.key)?.unwrap_or_else(|| item.value.clone()))
}

fn latest_of(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<Option<ValueRef<'static>>> {
    let values = doc.get_all(obj, key)?;
    let stamps = doc.get_all(obj, format!("{STAMP}{key}"))?;
    let stamp_by = |actor: &automerge::ActorId| {
        stamps.iter().find_map(|(v, id)| match (v, id) {
            (Value::Scalar(s), ObjId::Id(_, a, _)) if a == actor => s.as_i64(),
            _ => None,
        })
    };
    let best = values
        .into_iter()
        .filter_map(|(v, id)| match (&v, &id) {
            (Value::Scalar(_), ObjId::Id(_, actor, _)) => {
                let stamp = stamp_by(actor);
                Some((stamp, id.clone(), v))
            }
            _ => None,
        })
        .max_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(best.and_then(|(_, _, v)| match v {
        Value::Scalar(s) => Some(ValueRef::Scalar(s.into_owned().into())),
        Value::Object(_) => None,
    }))
}

/// Trims `s` and checks it is a non-empty name of at most `max` characters.
pub(crate) fn clean_name(field: &'static str, s: &str, max: usize) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(t.to_string())
}

/// Checks free text (notes) against a length bound; newlines are allowed.
pub(crate) fn check_text(field: &'static str, s: &str, max: usize) -> Result<()> {
    if s.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// One thing met while scanning a collection: a field of an entity's map, or
/// a chunk of a text object held in one of its fields (task notes).
pub(crate) enum Item<'x, 'a> {
    /// `key` → `value` in the entity's own map.
    Field(&'x str, &'x ValueRef<'a>),
    /// A chunk of the text object stored under the entity's field `key`.
    Text(&'x str, &'x str),
}

/// Visits every field of every entity in `coll` in one sequential pass and
/// returns the entities' ids; `on_item` receives each entity's index in that list.
///
/// One `iter_at` over the collection is about twice as fast as a `map_range`
/// per entity (25 vs 50-75 ms for 10,000 tasks, measured), because every
/// per-object call seeks into the op set anew.
pub(crate) fn scan_collection(
    doc: &AutoCommit,
    coll: &ObjId,
    kind: &'static str,
    mut on_item: impl FnMut(usize, Item<'_, '_>) -> Result<()>,
) -> Result<Vec<EntityId>> {
    use std::collections::HashMap;
    let mut ids = Vec::new();
    let mut entities: HashMap<ObjId, usize> = HashMap::new();
    for item in doc.map_range(coll, ..) {
        if !matches!(item.value, ValueRef::Object(ObjType::Map)) {
            continue;
        }
        let id: EntityId = item
            .key
            .parse()
            .map_err(|_| Error::Corrupt(format!("{kind} key {:?} is not a UUID", item.key)))?;
        entities.insert(item.id(), ids.len());
        ids.push(id);
    }
    // Nested objects (text) of an entity: their id → (entity index, field).
    let mut children: HashMap<ObjId, (usize, String)> = HashMap::new();
    for entry in doc.iter_at(coll, None) {
        if *entry.obj == *coll {
            continue;
        }
        if let Some(&index) = entities.get(&*entry.obj) {
            if let automerge::iter::DocItem::Map(m) = &entry.item {
                if let ValueRef::Object(_) = m.value {
                    children.insert(m.id(), (index, m.key.to_string()));
                }
                let value = settled(doc, &entry.obj, m)?;
                on_item(index, Item::Field(&m.key, &value))?;
            }
        } else if let Some((index, key)) = children.get(&*entry.obj)
            && let automerge::iter::DocItem::Text(span) = &entry.item
        {
            on_item(*index, Item::Text(key, span.as_str()))?;
        }
    }
    Ok(ids)
}
