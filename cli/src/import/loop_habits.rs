//! Loop Habit Tracker's "Export as CSV": a zip with `Habits.csv` and, per
//! habit, a folder `NNN Name/` (NNN its position) holding `Checkmarks.csv`
//! (`Date,Value[,Notes]`). The zip's `Scores.csv` and the wide
//! `Checkmarks.csv` at the top repeat the same data and are not read.
//!
//! `Habits.csv` comes in two shapes: `Position,Name,Question,Description,
//! NumRepetitions,Interval,Color` (Loop 1.x), and `Position,Name,Type,
//! Question,Description,FrequencyNumerator,FrequencyDenominator,Color,
//! Unit,Target Type,Target Value,Archived?` (2.x, with numeric habits);
//! columns are found by name. Loop writes each day's value as a name
//! (`YES_MANUAL` 2, `YES_AUTO` 1, `NO` 0, `UNKNOWN` -1, `SKIP` 3) or, for
//! numeric habits, the amount times 1000; older versions wrote the numbers
//! only, and SKIP as -3.
//!
//! Keys: a habit is its name (numbered when two share one); a check-in is
//! its habit's key and its date. A newer export of the same habits adds
//! only the days not imported yet.

use std::collections::{BTreeSet, HashMap};
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use lifeos_core::EntityId;
use lifeos_core::habits::{CheckInState, HabitKind, HabitPatch, NewHabit, Schedule};
use lifeos_core::time::Date;

use super::report::{Kind, Report};
use super::table::{Row, Shape, Table};
use super::{
    Bounded, Clock, ImportError, MAX_FILE_BYTES, MAX_RECORDS, Occurrences, Origin, Progress, label,
    read_bounded, read_file,
};
use crate::workspace::Workspace;

const SOURCE: &str = "loop";
/// The most entries a Loop zip may have (a folder and a few files per habit).
const MAX_ENTRIES: usize = 50_000;

pub(super) fn import(
    ws: &mut Workspace<'_>,
    clock: Clock<'_>,
    path: &Path,
    report: &mut Report,
) -> Result<(), ImportError> {
    let bytes = read_file(path)?;
    let plan = parse(label(path), &bytes, clock.today)?;
    apply(ws, clock, plan, report)
}

struct PlannedHabit {
    origin: Origin,
    key: String,
    habit: NewHabit,
    archived: bool,
    check_ins: Vec<PlannedCheckIn>,
}

struct PlannedCheckIn {
    origin: Origin,
    key: String,
    date: Date,
    state: CheckInState,
    note: Option<String>,
}

struct Plan {
    habits: Vec<PlannedHabit>,
    /// Days Loop knows that are not check-ins (NO, YES_AUTO, UNKNOWN).
    empty_days: usize,
    notes: Vec<String>,
}

struct Zip<'b> {
    label: Arc<str>,
    archive: zip::ZipArchive<Cursor<&'b [u8]>>,
}

impl Zip<'_> {
    fn unusable(&self, message: impl Into<String>) -> ImportError {
        ImportError::Unusable {
            path: self.label.to_string(),
            message: message.into(),
        }
    }

    /// Entry `name` as a CSV table named `archive.zip/name`.
    fn table(&mut self, name: &str) -> Result<Table, ImportError> {
        let entry_label: Arc<str> = Arc::from(format!("{}/{name}", self.label));
        let zip_label = self.label.to_string();
        let mut entry = self
            .archive
            .by_name(name)
            .map_err(|e| ImportError::Unusable {
                path: zip_label,
                message: format!("entry {name}: {e}"),
            })?;
        if entry.size() > MAX_FILE_BYTES {
            return Err(ImportError::Unusable {
                path: entry_label.to_string(),
                message: format!("is larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024)),
            });
        }
        let bytes = read_bounded(&mut entry, &entry_label).map_err(|e| match e {
            Bounded::Io(e) => ImportError::Unusable {
                path: entry_label.to_string(),
                message: format!("cannot be unpacked: {e}"),
            },
            Bounded::TooLarge(e) => e,
        })?;
        Table::read(entry_label, &bytes, &Shape::default())
    }
}

fn parse(file: Arc<str>, bytes: &[u8], today: Date) -> Result<Plan, ImportError> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ImportError::Unusable {
        path: file.to_string(),
        message: format!("is not a zip archive ({e}): give the zip Loop's \"Export as CSV\" made"),
    })?;
    let mut zip = Zip {
        label: file,
        archive,
    };
    if zip.archive.len() > MAX_ENTRIES {
        return Err(zip.unusable(format!("has more than {MAX_ENTRIES} entries")));
    }
    let names: Vec<String> = zip
        .archive
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    // At the top, or in one folder when someone zipped the export's folder.
    let habits_name = names
        .iter()
        .filter(|n| {
            (n.as_str() == "Habits.csv" || n.ends_with("/Habits.csv"))
                && n.matches('/').count() <= 1
        })
        .min_by_key(|n| n.len())
        .cloned()
        .ok_or_else(|| {
            zip.unusable(
                "has no Habits.csv: is it the zip of Loop Habit Tracker's \"Export as CSV\"?",
            )
        })?;
    let base = habits_name
        .strip_suffix("Habits.csv")
        .unwrap_or_default()
        .to_string();
    let folders: HashMap<u32, String> = names
        .iter()
        .filter_map(|n| {
            let (folder, file) = n.strip_prefix(base.as_str())?.split_once('/')?;
            if file != "Checkmarks.csv" {
                return None;
            }
            let digits: String = folder.chars().take_while(char::is_ascii_digit).collect();
            Some((digits.parse().ok()?, n.clone()))
        })
        .collect();
    let habits = zip.table(&habits_name)?;
    let cols = HabitColumns {
        position: habits.require(&["Position"])?,
        name: habits.require(&["Name"])?,
        kind: habits.optional(&["Type"]),
        numerator: habits.require(&["FrequencyNumerator", "NumRepetitions"])?,
        denominator: habits.require(&["FrequencyDenominator", "Interval"])?,
        unit: habits.optional(&["Unit"]),
        target_type: habits.optional(&["Target Type"]),
        target: habits.optional(&["Target Value"]),
        archived: habits.optional(&["Archived?", "Archived"]),
    };
    let mut plan = Plan {
        habits: Vec::new(),
        empty_days: 0,
        notes: Vec::new(),
    };
    let mut keys = Occurrences::default();
    let mut records = 0;
    for row in &habits.rows {
        let position: u32 = row.get(cols.position).parse().map_err(|_| {
            row.error(
                cols.position,
                format!("Position {:?} is not a number", row.get(cols.position)),
            )
        })?;
        let name = row.get(cols.name);
        if name.is_empty() {
            return Err(row.error(cols.name, "a habit without a Name"));
        }
        let schedule = schedule(row, cols.numerator, cols.denominator)?;
        let kind = kind(row, &cols, name, &mut plan.notes)?;
        let archived = match cols.archived.map(|c| row.get(c).to_ascii_lowercase()) {
            None => false,
            Some(v) if v.is_empty() || v == "false" => false,
            Some(v) if v == "true" => true,
            Some(v) => {
                return Err(row.error(
                    cols.archived.unwrap_or(0),
                    format!("Archived? {v:?} is not true or false"),
                ));
            }
        };
        let key = keys.key(format!("habit\u{1f}{name}"));
        let (check_ins, empty_days, first_day) = match folders.get(&position) {
            Some(entry) => {
                let table = zip.table(entry)?;
                check_ins(&table, &kind, &key, today)?
            }
            None => (Vec::new(), 0, None),
        };
        records += 1 + check_ins.len();
        if records > MAX_RECORDS {
            return Err(zip.unusable(format!("has more than {MAX_RECORDS} habits and check-ins")));
        }
        plan.empty_days += empty_days;
        plan.habits.push(PlannedHabit {
            origin: Origin::new(row.at(cols.name))
                .with("name", row.at(cols.name))
                .with("schedule", row.at(cols.numerator))
                .with("unit", row.at(cols.unit.unwrap_or(cols.name)))
                .with("target", row.at(cols.target.unwrap_or(cols.name))),
            key,
            habit: NewHabit {
                name: name.to_string(),
                schedule,
                kind,
                start: first_day.unwrap_or(today).min(today),
            },
            archived,
            check_ins,
        });
    }
    Ok(plan)
}

struct HabitColumns {
    position: usize,
    name: usize,
    kind: Option<usize>,
    numerator: usize,
    denominator: usize,
    unit: Option<usize>,
    target_type: Option<usize>,
    target: Option<usize>,
    archived: Option<usize>,
}

/// Loop's frequency, N check-ins in D days, as a schedule.
fn schedule(row: &Row, numerator: usize, denominator: usize) -> Result<Schedule, ImportError> {
    let number = |c: usize| {
        row.get(c)
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                row.error(
                    c,
                    format!(
                        "{:?} is not a frequency (a whole number above 0)",
                        row.get(c)
                    ),
                )
            })
    };
    let (n, d) = (number(numerator)?, number(denominator)?);
    let made = if n >= d {
        Ok(Schedule::Daily)
    } else if d == 7 {
        Schedule::times_per_week(n)
    } else {
        Schedule::times_per_period(n, d)
    };
    made.map_err(|e| row.error(denominator, e.to_string()))
}

fn kind(
    row: &Row,
    cols: &HabitColumns,
    name: &str,
    notes: &mut Vec<String>,
) -> Result<HabitKind, ImportError> {
    let kind = cols.kind.map(|c| row.get(c).to_ascii_uppercase());
    match kind.as_deref() {
        None | Some("") | Some("YES_NO") => Ok(HabitKind::YesNo),
        Some("NUMERICAL") => {
            let column = cols.target.ok_or_else(|| {
                row.error(
                    cols.kind.unwrap_or(0),
                    "a numeric habit, but the file has no Target Value column",
                )
            })?;
            let text = row.get(column);
            let target: f64 = text
                .parse()
                .ok()
                .filter(|t: &f64| t.is_finite())
                .ok_or_else(|| {
                    row.error(column, format!("Target Value {text:?} is not a number"))
                })?;
            if cols
                .target_type
                .is_some_and(|c| row.get(c).eq_ignore_ascii_case("AT_MOST"))
            {
                notes.push(format!(
                    "line {}: {name:?} has an \"at most\" target in Loop; LifeOS counts a day done when it reaches the target: check it",
                    row.line
                ));
            }
            Ok(HabitKind::Numeric {
                unit: cols.unit.map_or("", |c| row.get(c)).to_string(),
                target,
            })
        }
        Some(other) => Err(row.error(
            cols.kind.unwrap_or(0),
            format!("Type {other:?} is not YES_NO or NUMERICAL"),
        )),
    }
}

/// A habit's `Checkmarks.csv`: its check-ins, how many known days are not
/// check-ins, and the first day Loop knows of.
fn check_ins(
    table: &Table,
    kind: &HabitKind,
    habit_key: &str,
    today: Date,
) -> Result<(Vec<PlannedCheckIn>, usize, Option<Date>), ImportError> {
    let date_col = table.require(&["Date"])?;
    let value_col = table.require(&["Value"])?;
    let notes_col = table.optional(&["Notes"]);
    let mut out = Vec::new();
    let mut empty = 0;
    let mut first: Option<Date> = None;
    let mut seen: HashMap<Date, u64> = HashMap::new();
    for row in &table.rows {
        let text = row.get(date_col);
        let date = lifeos_core::time::parse_date("date", text)
            .map_err(|_| row.error(date_col, format!("{text:?} is not a date (YYYY-MM-DD)")))?;
        if date > today {
            return Err(row.error(
                date_col,
                format!(
                    "{date} is after today ({today}): a day in the future cannot be checked in"
                ),
            ));
        }
        if let Some(line) = seen.insert(date, row.line) {
            return Err(row.error(
                date_col,
                format!("{date} is here twice (also on line {line})"),
            ));
        }
        first = Some(first.map_or(date, |f| f.min(date)));
        let value = row.get(value_col);
        let state = match kind {
            HabitKind::YesNo => yes_no(value),
            HabitKind::Numeric { .. } => numeric(value),
        }
        .ok_or_else(|| {
            row.error(
                value_col,
                format!("{value:?} is not a Loop value (YES_MANUAL, YES_AUTO, NO, SKIP, UNKNOWN or a whole number)"),
            )
        })?;
        let Some(state) = state else {
            empty += 1;
            continue;
        };
        out.push(PlannedCheckIn {
            origin: Origin::new(row.at(date_col))
                .with("date", row.at(date_col))
                .with("value", row.at(value_col))
                .with("note", row.at(notes_col.unwrap_or(value_col))),
            key: format!("{habit_key}\u{1f}{date}"),
            date,
            state,
            note: row.get_opt(notes_col).map(str::to_string),
        });
    }
    Ok((out, empty, first))
}

/// A yes/no habit's day: `Some(None)` is a day without a check-in.
fn yes_no(value: &str) -> Option<Option<CheckInState>> {
    Some(match value.to_ascii_uppercase().as_str() {
        "YES_MANUAL" | "2" => Some(CheckInState::Done),
        "SKIP" | "3" | "-3" => Some(CheckInState::Skipped),
        "YES_AUTO" | "1" | "NO" | "0" | "UNKNOWN" | "-1" | "" => None,
        _ => return None,
    })
}

/// A numeric habit's day: Loop stores amounts times 1000, and its value
/// names stand for the small numbers they are (`NO` is 0).
fn numeric(value: &str) -> Option<Option<CheckInState>> {
    let thousandths: i64 = match value.to_ascii_uppercase().as_str() {
        "SKIP" | "3" | "-3" => return Some(Some(CheckInState::Skipped)),
        "UNKNOWN" | "-1" | "" => return Some(None),
        "NO" => 0,
        "YES_AUTO" => 1,
        "YES_MANUAL" => 2,
        number => number.parse().ok().filter(|n| *n >= 0)?,
    };
    Some(Some(CheckInState::Value(thousandths as f64 / 1000.0)))
}

fn describe(state: CheckInState, kind: &HabitKind) -> String {
    match (state, kind) {
        (CheckInState::Done, _) => "done".into(),
        (CheckInState::Skipped, _) => "skipped".into(),
        (CheckInState::Value(v), HabitKind::Numeric { unit, .. }) => {
            format!("{v} {unit}").trim_end().to_string()
        }
        (CheckInState::Value(v), HabitKind::YesNo) => v.to_string(),
    }
}

fn apply(
    ws: &mut Workspace<'_>,
    clock: Clock<'_>,
    plan: Plan,
    report: &mut Report,
) -> Result<(), ImportError> {
    for note in plan.notes {
        report.note(note);
    }
    if plan.empty_days > 0 {
        report.note(format!(
            "{} days Loop marks NO, YES_AUTO or UNKNOWN are days without a check-in",
            plan.empty_days
        ));
    }
    let total = plan.habits.iter().map(|h| 1 + h.check_ins.len()).sum();
    let progress = Progress::new(total);
    for planned in plan.habits {
        progress.step();
        let line = planned.origin.line();
        let name = planned.habit.name.clone();
        let id = match ws.session().imported(SOURCE, &planned.key)? {
            Some(id) => {
                report.already(Kind::Habit, line, id.as_str());
                match id
                    .parse::<EntityId>()
                    .ok()
                    .filter(|id| ws.data.habit(*id).is_ok())
                {
                    Some(id) => id,
                    None => {
                        report.note(format!(
                            "{name:?} was deleted in LifeOS after an earlier import: its check-ins are not imported again"
                        ));
                        planned.check_ins.iter().for_each(|_| progress.step());
                        continue;
                    }
                }
            }
            None => {
                let id = ws
                    .data
                    .add_habit(clock.now, planned.habit.clone())
                    .map_err(|e| planned.origin.refused(e))?;
                if planned.archived {
                    let patch = HabitPatch {
                        archived: Some(true),
                        ..HabitPatch::default()
                    };
                    ws.data
                        .update_habit(clock.now, id, patch)
                        .map_err(|e| planned.origin.refused(e))?;
                }
                ws.session().record_import(
                    SOURCE,
                    &planned.key,
                    &id.to_string(),
                    clock.now.as_millis(),
                )?;
                report.created(
                    Kind::Habit,
                    id,
                    line,
                    format!("{name} ({})", planned.habit.schedule),
                );
                id
            }
        };
        let mut checked: BTreeSet<Date> = ws.data.habit(id)?.checkins.keys().copied().collect();
        for c in planned.check_ins {
            progress.step();
            let line = c.origin.line();
            if let Some(id) = ws.session().imported(SOURCE, &c.key)? {
                report.already(Kind::CheckIn, line, id);
                continue;
            }
            if !checked.insert(c.date) {
                report.skipped(
                    line,
                    format!(
                        "{name} on {}: already checked in in LifeOS, kept as it is",
                        c.date
                    ),
                );
                continue;
            }
            let made = ws
                .data
                .check_in(
                    clock.now,
                    id,
                    c.date,
                    clock.today,
                    c.state,
                    c.note.as_deref(),
                )
                .map_err(|e| c.origin.refused(e))?;
            ws.session().record_import(
                SOURCE,
                &c.key,
                &made.id.to_string(),
                clock.now.as_millis(),
            )?;
            report.created(
                Kind::CheckIn,
                made.id,
                line,
                format!(
                    "{name} on {}: {}",
                    c.date,
                    describe(c.state, &planned.habit.kind)
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn today() -> Date {
        "2026-11-26".parse().unwrap()
    }

    fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut out);
        for (name, text) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(text.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        out.into_inner()
    }

    const HABITS: &str = "Position,Name,Type,Question,Description,FrequencyNumerator,FrequencyDenominator,Color,Unit,Target Type,Target Value,Archived?\n\
        001,Meditate,YES_NO,Did you meditate?,,1,1,#FF8F00,,,,false\n\
        002,Run,NUMERICAL,How far?,,3,7,#4CAF50,km,AT_LEAST,5.0,false\n\
        003,Floss,YES_NO,,,2,5,#888888,,,,true\n";

    fn plan_of(files: &[(&str, &str)]) -> Result<Plan, ImportError> {
        parse(Arc::from("loop.zip"), &zip_of(files), today())
    }

    #[test]
    fn habits_schedules_and_check_ins() {
        let p = plan_of(&[
            ("Habits.csv", HABITS),
            (
                "001 Meditate/Checkmarks.csv",
                "Date,Value,Notes\n2026-11-25,YES_MANUAL,calm\n2026-11-24,SKIP,\n2026-11-23,YES_AUTO,\n2026-11-22,NO,\n2026-11-21,2,\n",
            ),
            ("002 Run/Checkmarks.csv", "Date,Value\n2026-11-25,5250\n2026-11-20,UNKNOWN\n"),
            ("Scores.csv", "Date,Meditate\n"),
        ])
        .unwrap();
        assert_eq!(p.habits.len(), 3);
        let meditate = &p.habits[0];
        assert_eq!(meditate.habit.schedule, Schedule::Daily);
        assert_eq!(meditate.habit.start, "2026-11-21".parse().unwrap());
        let states: Vec<_> = meditate.check_ins.iter().map(|c| c.state).collect();
        assert_eq!(
            states,
            vec![
                CheckInState::Done,
                CheckInState::Skipped,
                CheckInState::Done
            ]
        );
        assert_eq!(meditate.check_ins[0].note.as_deref(), Some("calm"));
        let run = &p.habits[1];
        assert_eq!(run.habit.schedule, Schedule::TimesPerWeek { times: 3 });
        assert_eq!(
            run.habit.kind,
            HabitKind::Numeric {
                unit: "km".into(),
                target: 5.0
            }
        );
        assert_eq!(run.check_ins[0].state, CheckInState::Value(5.25));
        let floss = &p.habits[2];
        assert_eq!(
            floss.habit.schedule,
            Schedule::TimesPerPeriod { times: 2, days: 5 }
        );
        assert!(floss.archived);
        assert!(floss.check_ins.is_empty());
        assert_eq!(floss.habit.start, today());
        assert_eq!(p.empty_days, 3);
    }

    #[test]
    fn no_input_panics() {
        let habits = include_bytes!("../../tests/fixtures/loop/Habits.csv");
        let run = include_str!("../../tests/fixtures/loop/002 Run/Checkmarks.csv");
        for bytes in crate::import::mangled(habits) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = plan_of(&[("Habits.csv", &text), ("002 Run/Checkmarks.csv", run)]);
        }
        for bytes in crate::import::mangled(run.as_bytes()) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = plan_of(&[("Habits.csv", HABITS), ("002 Run/Checkmarks.csv", &text)]);
        }
        let zip = zip_of(&[("Habits.csv", HABITS)]);
        for bytes in crate::import::mangled(&zip) {
            let _ = parse(Arc::from("loop.zip"), &bytes, today());
        }
    }

    #[test]
    fn old_exports_and_zipped_folders() {
        let p = plan_of(&[
            (
                "Loop Habits CSV 2016-07-01/Habits.csv",
                "Position,Name,Question,Description,NumRepetitions,Interval,Color\n1,Read,,,1,7,#123456\n",
            ),
            ("Loop Habits CSV 2016-07-01/001 Read/Checkmarks.csv", "Date,Value\n2016-06-30,2\n2016-06-29,0\n"),
        ])
        .unwrap();
        assert_eq!(
            p.habits[0].habit.schedule,
            Schedule::TimesPerWeek { times: 1 }
        );
        assert_eq!(p.habits[0].check_ins.len(), 1);
    }

    #[test]
    fn errors_name_the_entry_line_and_column() {
        let e = |files: &[(&str, &str)]| plan_of(files).err().unwrap().to_string();
        assert_eq!(
            e(&[
                ("Habits.csv", HABITS),
                (
                    "001 Meditate/Checkmarks.csv",
                    "Date,Value\n2026-11-25,YES_MANUAL\n2026-11-24,MAYBE\n"
                ),
            ]),
            "loop.zip/001 Meditate/Checkmarks.csv:3:2: \"MAYBE\" is not a Loop value (YES_MANUAL, YES_AUTO, NO, SKIP, UNKNOWN or a whole number)"
        );
        assert_eq!(
            e(&[
                ("Habits.csv", HABITS),
                (
                    "001 Meditate/Checkmarks.csv",
                    "Date,Value\n25/11/2026,YES_MANUAL\n"
                ),
            ]),
            "loop.zip/001 Meditate/Checkmarks.csv:2:1: \"25/11/2026\" is not a date (YYYY-MM-DD)"
        );
        assert!(
            e(&[
                ("Habits.csv", HABITS),
                ("001 Meditate/Checkmarks.csv", "Date,Value\n2027-01-01,2\n")
            ])
            .contains("after today")
        );
        assert_eq!(
            e(&[(
                "Habits.csv",
                "Position,Name,NumRepetitions,Interval\n1,Read,0,7\n"
            )]),
            "loop.zip/Habits.csv:2:3: \"0\" is not a frequency (a whole number above 0)"
        );
        assert_eq!(
            e(&[("Habits.csv", "Position,Name\n1,Read\n")]),
            "loop.zip/Habits.csv:1:1: the header has no FrequencyNumerator or NumRepetitions column (it has: Position, Name)"
        );
        assert!(e(&[("notes.txt", "hello")]).starts_with("loop.zip: has no Habits.csv"));
        let not_zip = parse(Arc::from("loop.zip"), b"Position,Name\n", today())
            .err()
            .unwrap();
        assert!(
            not_zip
                .to_string()
                .starts_with("loop.zip: is not a zip archive"),
            "{not_zip}"
        );
        assert!(not_zip.is_invalid_file());
    }
}
