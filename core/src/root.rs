//! The root document: a user's settings and the list of all their documents.
//!
//! A new device needs one id to find everything: the root's, which is derived
//! from the account id ([`crate::DocumentId::root_of_user`]). The root lists
//! every other document as `documents: { "<bs58 id>": "<role>" }`, a set, so
//! that documents registered by two offline devices are all kept; readers take
//! the union of every document of a kind (see [`crate::user::UserData`]).

use automerge::transaction::Transactable;
use serde::Serialize;

use crate::doc::LifeDoc;
use crate::doc::fields::{i64_of, str_of};
use crate::error::{Error, Result};
use crate::id::{DocumentId, EntityId};
use crate::money::Currency;
use crate::schema::DocKind;
use crate::tasks::recurrence::{parse_weekday, weekday_name};
use crate::time::{Month, Timestamp, Weekday};
use automerge::ReadDoc;

/// What a listed document is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DocRole {
    /// Its kind.
    pub kind: DocKind,
    /// For ledgers, the month of their expenses.
    pub month: Option<Month>,
}

impl DocRole {
    /// The stored form: `tasks`, `habits`, `finance`, `ledger:2026-11`.
    pub fn to_storage(&self) -> String {
        match self.month {
            Some(m) => format!("{}:{m}", self.kind),
            None => self.kind.to_string(),
        }
    }

    /// Reads the stored form.
    pub fn from_storage(s: &str) -> Result<Self> {
        let bad = || Error::Corrupt(format!("document role {s:?} is unknown"));
        match s.split_once(':') {
            Some(("ledger", month)) => Ok(DocRole {
                kind: DocKind::Ledger,
                month: Some(month.parse().map_err(|_| bad())?),
            }),
            Some(_) => Err(bad()),
            None => match DocKind::parse(s) {
                Some(k @ (DocKind::Tasks | DocKind::Habits | DocKind::Finance)) => Ok(DocRole {
                    kind: k,
                    month: None,
                }),
                _ => Err(bad()),
            },
        }
    }
}

/// The user's preferences that rules depend on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settings {
    /// IANA time zone used to decide what "today" is (`None`: the device's own).
    pub timezone: Option<String>,
    /// Default currency for new expenses and budgets.
    pub currency: Option<Currency>,
    /// First day of the week for N-per-week habits.
    pub week_start: Weekday,
    /// A task due within this many days counts as urgent.
    pub urgent_within_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timezone: None,
            currency: None,
            week_start: Weekday::Mon,
            urgent_within_days: 2,
        }
    }
}

/// A change to the settings; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SettingsPatch {
    /// New time zone (checked against the zone database by callers that have it).
    pub timezone: Option<String>,
    /// New default currency.
    pub currency: Option<Currency>,
    /// New week start.
    pub week_start: Option<Weekday>,
    /// New urgency horizon, 0 to 365 days.
    pub urgent_within_days: Option<u32>,
}

/// The typed view of a root document.
#[derive(Debug)]
pub struct RootDoc {
    doc: LifeDoc,
}

crate::doc::typed_document!(RootDoc, DocKind::Root);

/// Key prefix, in `settings`, of a group of entities kept apart:
/// `apart:<id>,<id>,...` (sorted) → `true`.
const APART: &str = "apart:";

fn apart_key(ids: &[EntityId]) -> String {
    let mut ids = ids.to_vec();
    ids.sort();
    let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    format!("{APART}{}", ids.join(","))
}

impl RootDoc {
    /// Lists `id` as one of the user's documents.
    pub fn register(&mut self, now: Timestamp, id: DocumentId, role: DocRole) -> Result<()> {
        let documents = self.doc.collection("documents")?;
        self.doc.edit(now, |doc| {
            doc.put(&documents, id.to_string(), role.to_storage())?;
            Ok(())
        })
    }

    /// Every listed document. Entries this build cannot read are skipped, so
    /// that a newer device's new kinds of document do not break older ones.
    pub fn documents(&self) -> Result<Vec<(DocumentId, DocRole)>> {
        let doc = self.doc.automerge();
        let documents = self.doc.collection("documents")?;
        let mut out = Vec::new();
        for item in doc.map_range(&documents, ..) {
            let (Ok(id), Ok(role)) = (
                DocumentId::parse(&item.key),
                str_of("documents", &item.value).and_then(DocRole::from_storage),
            ) else {
                continue;
            };
            out.push((id, role));
        }
        Ok(out)
    }

    /// The settings, with defaults for what was never set.
    pub fn settings(&self) -> Result<Settings> {
        let doc = self.doc.automerge();
        let settings = self.doc.collection("settings")?;
        let mut s = Settings::default();
        for f in doc.map_range(&settings, ..) {
            match f.key.as_ref() {
                "timezone" => s.timezone = Some(str_of("timezone", &f.value)?.to_string()),
                "currency" => {
                    s.currency = Some(
                        Currency::from_code(str_of("currency", &f.value)?)
                            .map_err(|e| Error::Corrupt(e.to_string()))?,
                    )
                }
                "week_start" => {
                    s.week_start = parse_weekday(str_of("week_start", &f.value)?)
                        .ok_or_else(|| Error::Corrupt("week_start is not a weekday".into()))?
                }
                "urgent_within_days" => {
                    s.urgent_within_days = u32::try_from(i64_of("urgent_within_days", &f.value)?)
                        .map_err(|_| Error::Corrupt("urgent_within_days out of range".into()))?
                }
                _ => {}
            }
        }
        Ok(s)
    }

    /// Records that the entities `ids` are different things, not duplicates.
    pub fn keep_apart(&mut self, now: Timestamp, ids: &[EntityId]) -> Result<()> {
        let settings = self.doc.collection("settings")?;
        let key = apart_key(ids);
        self.doc.edit(now, |doc| {
            doc.put(&settings, key, true)?;
            Ok(())
        })
    }

    /// Every group of entities recorded as different things, each sorted.
    pub fn kept_apart(&self) -> Result<Vec<Vec<EntityId>>> {
        let doc = self.doc.automerge();
        let settings = self.doc.collection("settings")?;
        let mut out = Vec::new();
        for f in doc.map_range(&settings, APART.to_string()..format!("{APART}\u{10FFFF}")) {
            let ids: std::result::Result<Vec<EntityId>, _> = f.key[APART.len()..]
                .split(',')
                .map(|id| id.parse::<EntityId>())
                .collect();
            // A key this build cannot read is skipped, as unknown settings are.
            if let Ok(mut ids) = ids {
                ids.sort();
                out.push(ids);
            }
        }
        Ok(out)
    }

    /// Changes some settings.
    pub fn update_settings(&mut self, now: Timestamp, patch: SettingsPatch) -> Result<()> {
        if let Some(tz) = &patch.timezone
            && (tz.is_empty()
                || tz.len() > 64
                || !tz
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c)))
        {
            return Err(Error::invalid(
                "timezone",
                format!("{tz:?} is not an IANA time zone name"),
            ));
        }
        #[cfg(feature = "tz")]
        if let Some(tz) = &patch.timezone
            && !crate::time::is_known_zone(tz)
        {
            return Err(Error::invalid(
                "timezone",
                format!("{tz:?} is not a known IANA time zone"),
            ));
        }
        if patch.urgent_within_days.is_some_and(|d| d > 365) {
            return Err(Error::invalid("urgent_within_days", "must be 0 to 365"));
        }
        let settings = self.doc.collection("settings")?;
        self.doc.edit(now, |doc| {
            if let Some(tz) = &patch.timezone {
                doc.put(&settings, "timezone", tz.as_str())?;
            }
            if let Some(c) = patch.currency {
                doc.put(&settings, "currency", c.code())?;
            }
            if let Some(w) = patch.week_start {
                doc.put(&settings, "week_start", weekday_name(w))?;
            }
            if let Some(d) = patch.urgent_within_days {
                doc.put(&settings, "urgent_within_days", i64::from(d))?;
            }
            Ok(())
        })
    }
}
