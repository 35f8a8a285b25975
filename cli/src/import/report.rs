//! What an import tells: counts per kind, what was made, what was already
//! there, what was left out and why, and what was kept only approximately.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use crate::commands::{Answer, short_id};

/// What an import makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Task,
    Project,
    Habit,
    CheckIn,
    Expense,
    Category,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Project => "project",
            Kind::Habit => "habit",
            Kind::CheckIn => "check-in",
            Kind::Expense => "expense",
            Kind::Category => "category",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Task => "tasks",
            Kind::Project => "projects",
            Kind::Habit => "habits",
            Kind::CheckIn => "check-ins",
            Kind::Expense => "expenses",
            Kind::Category => "categories",
        }
    }

    /// Records of the file, as opposed to what they needed (a project, a
    /// category), which "N new" does not count.
    fn is_record(self) -> bool {
        !matches!(self, Kind::Project | Kind::Category)
    }
}

struct Created {
    kind: Kind,
    id: String,
    line: u64,
    text: String,
}

struct Seen {
    kind: Kind,
    line: u64,
    id: String,
}

struct Skipped {
    line: u64,
    reason: String,
}

/// The report of one import, filled while applying the plan.
pub(crate) struct Report {
    file: Arc<str>,
    dry_run: bool,
    created: Vec<Created>,
    already: Vec<Seen>,
    skipped: Vec<Skipped>,
    notes: Vec<String>,
}

/// Lines of each list the text shows; `--json` has them all.
const SHOWN: usize = 10;

impl Report {
    pub fn new(file: Arc<str>, dry_run: bool) -> Self {
        Report {
            file,
            dry_run,
            created: Vec::new(),
            already: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// `kind` `id` was made from line `line`; `text` describes it.
    pub fn created(&mut self, kind: Kind, id: impl ToString, line: u64, text: impl Into<String>) {
        self.created.push(Created {
            kind,
            id: id.to_string(),
            line,
            text: text.into(),
        });
    }

    /// The record at `line` was imported before, as `id`.
    pub fn already(&mut self, kind: Kind, line: u64, id: impl Into<String>) {
        self.already.push(Seen {
            kind,
            line,
            id: id.into(),
        });
    }

    /// The record at `line` is not imported, on purpose.
    pub fn skipped(&mut self, line: u64, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            line,
            reason: reason.into(),
        });
    }

    /// Something was kept only approximately, or needs a look.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// The answer to print.
    pub fn answer(&self) -> Answer {
        let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
        for c in &self.created {
            *counts.entry(c.kind).or_default() += 1;
        }
        let new = self.created.iter().filter(|c| c.kind.is_record()).count();
        let listed: Vec<String> = counts
            .iter()
            .map(|(k, n)| format!("{n} {}", if *n == 1 { k.name() } else { k.plural() }))
            .collect();
        let mut lines = vec![if self.dry_run {
            format!("Dry run of {}: nothing was changed.", self.file)
        } else {
            format!("Imported {}.", self.file)
        }];
        lines.push(match (listed.is_empty(), self.dry_run) {
            (true, _) => "Nothing to add.".to_string(),
            (false, true) => format!("Would add {}.", listed.join(", ")),
            (false, false) => format!("Added {}.", listed.join(", ")),
        });
        let mut tally = format!("{new} new, {} already imported", self.already.len());
        if !self.skipped.is_empty() {
            tally.push_str(&format!(", {} skipped", self.skipped.len()));
        }
        lines.push(tally);
        for c in self.created.iter().take(SHOWN) {
            let id = if self.dry_run {
                String::new()
            } else {
                format!(" ({})", short_id_of(&c.id))
            };
            lines.push(format!(
                "  line {}: {} {}{id}",
                c.line,
                c.kind.name(),
                c.text
            ));
        }
        more(&mut lines, self.created.len());
        if !self.skipped.is_empty() {
            lines.push("Skipped:".into());
            for s in self.skipped.iter().take(SHOWN) {
                lines.push(format!("  line {}: {}", s.line, s.reason));
            }
            more(&mut lines, self.skipped.len());
        }
        if !self.notes.is_empty() {
            lines.push("Notes:".into());
            lines.extend(self.notes.iter().map(|n| format!("  {n}")));
        }
        let json = json!({
            "file": &*self.file,
            "dry_run": self.dry_run,
            "new": new,
            "already_imported": self.already.len(),
            "created": counts.iter().map(|(k, n)| (k.plural().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "items": self.created.iter().map(|c| json!({
                "kind": c.kind.name(),
                "id": if self.dry_run { None } else { Some(&c.id) },
                "line": c.line,
                "text": c.text,
            })).collect::<Vec<_>>(),
            "already": self.already.iter().map(|s| json!({
                "kind": s.kind.name(),
                "line": s.line,
                "id": s.id,
            })).collect::<Vec<_>>(),
            "skipped": self.skipped.iter().map(|s| json!({
                "line": s.line,
                "reason": s.reason,
            })).collect::<Vec<_>>(),
            "notes": self.notes,
        });
        Answer {
            text: lines.join("\n"),
            json,
        }
    }
}

fn more(lines: &mut Vec<String>, total: usize) {
    if total > SHOWN {
        lines.push(format!(
            "  ... and {} more (--json lists them all)",
            total - SHOWN
        ));
    }
}

/// The short form of an entity id as `task list` shows it.
fn short_id_of(id: &str) -> String {
    match id.parse() {
        Ok(id) => short_id(id),
        Err(_) => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_records_apart_from_what_they_needed() {
        let mut r = Report::new(Arc::from("home.csv"), false);
        r.created(Kind::Project, "p", 2, "Home");
        r.created(Kind::Task, "t1", 2, "Repot the basil");
        r.created(Kind::Task, "t2", 5, "Water the ferns");
        r.already(Kind::Task, 7, "t0");
        r.skipped(9, "deleted in Taskwarrior");
        r.note("a note");
        let a = r.answer();
        assert!(a.text.contains("Added 2 tasks, 1 project."), "{}", a.text);
        assert!(
            a.text.contains("2 new, 1 already imported, 1 skipped"),
            "{}",
            a.text
        );
        assert!(
            a.text.contains("line 5: task Water the ferns (t2)"),
            "{}",
            a.text
        );
        assert_eq!(a.json["new"], 2);
        assert_eq!(a.json["created"]["tasks"], 2);
        assert_eq!(a.json["created"]["projects"], 1);
        assert_eq!(a.json["skipped"][0]["line"], 9);

        let mut again = Report::new(Arc::from("home.csv"), true);
        for n in 0..12 {
            again.already(Kind::Task, n, "x");
        }
        let a = again.answer();
        assert!(a.text.contains("Nothing to add."), "{}", a.text);
        assert!(a.text.contains("0 new, 12 already imported"), "{}", a.text);
        assert!(
            a.text
                .starts_with("Dry run of home.csv: nothing was changed.")
        );
    }
}
