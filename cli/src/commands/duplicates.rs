//! `lifeos duplicates ...`: records that are likely one thing entered twice
//! (after this device's data joined an account, or two devices made the same
//! habit offline), merged or kept apart on request, never silently.

use lifeos_core::time::Timestamp;
use lifeos_core::user::duplicates::Duplicates;
use serde_json::json;

use super::{Answer, CommandError, short_id};
use crate::workspace::Workspace;

/// How a group is shown: `habit "Meditate": 2 (a1b2c3 kept, d4e5f6)`.
fn describe(g: &Duplicates) -> String {
    let others: Vec<String> = g.others.iter().map(|id| short_id(*id)).collect();
    format!(
        "{} \"{}\": {} of them ({} kept, {} merged into it)",
        g.kind.noun(),
        g.name,
        g.others.len() + 1,
        short_id(g.keep),
        others.join(", ")
    )
}

fn as_json(g: &Duplicates) -> serde_json::Value {
    json!({ "kind": g.kind, "name": g.name, "keep": g.keep, "others": g.others })
}

/// `lifeos duplicates`: every group, numbered.
pub fn list(ws: &Workspace<'_>) -> Result<Answer, CommandError> {
    let groups = ws.data.duplicates()?;
    let text = if groups.is_empty() {
        "No likely duplicates.".to_string()
    } else {
        let mut lines = vec![format!("{} likely duplicate(s):", groups.len())];
        lines.extend(
            groups
                .iter()
                .enumerate()
                .map(|(i, g)| format!("  {}. {}", i + 1, describe(g))),
        );
        lines.push(
            "Merge: lifeos duplicates merge N (or --all). Different things: lifeos duplicates keep-apart N"
                .into(),
        );
        lines.join("\n")
    };
    let json: Vec<_> = groups.iter().map(as_json).collect();
    Ok(Answer {
        text,
        json: json!({ "duplicates": json }),
    })
}

/// The groups that `numbers` (counted from 1 as `list` shows them) name.
fn pick(groups: &[Duplicates], numbers: &[usize]) -> Result<Vec<Duplicates>, CommandError> {
    if groups.is_empty() {
        return Err(CommandError::NotFound(
            "there are no likely duplicates".into(),
        ));
    }
    numbers
        .iter()
        .map(|n| {
            n.checked_sub(1)
                .and_then(|i| groups.get(i))
                .cloned()
                .ok_or_else(|| {
                    CommandError::NotFound(format!(
                        "there is no duplicate {n}: `lifeos duplicates` lists 1 to {}",
                        groups.len()
                    ))
                })
        })
        .collect()
}

/// `lifeos duplicates merge N... | --all`.
pub fn merge(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    numbers: &[usize],
    all: bool,
) -> Result<Answer, CommandError> {
    let groups = ws.data.duplicates()?;
    let chosen = if all {
        groups.clone()
    } else {
        pick(&groups, numbers)?
    };
    if chosen.is_empty() {
        return Err(CommandError::NotFound(
            "there are no likely duplicates".into(),
        ));
    }
    for g in &chosen {
        ws.data.merge_duplicates(now, g)?;
    }
    let lines: Vec<String> = chosen
        .iter()
        .map(|g| format!("Merged {}", describe(g)))
        .collect();
    let json: Vec<_> = chosen.iter().map(as_json).collect();
    Ok(Answer {
        text: lines.join("\n"),
        json: json!({ "merged": json }),
    })
}

/// `lifeos duplicates keep-apart N...`.
pub fn keep_apart(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    numbers: &[usize],
) -> Result<Answer, CommandError> {
    let groups = ws.data.duplicates()?;
    let chosen = pick(&groups, numbers)?;
    for g in &chosen {
        ws.data.keep_apart(now, g)?;
    }
    let lines: Vec<String> = chosen
        .iter()
        .map(|g| {
            format!(
                "Kept apart: {} \"{}\" ({} of them); not offered again",
                g.kind.noun(),
                g.name,
                g.others.len() + 1
            )
        })
        .collect();
    let json: Vec<_> = chosen.iter().map(as_json).collect();
    Ok(Answer {
        text: lines.join("\n"),
        json: json!({ "kept_apart": json }),
    })
}
