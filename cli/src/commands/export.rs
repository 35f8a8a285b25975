//! `lifeos export`: the user's data in the relay's export format
//! (`lifeos-export`), written from this device's replica without a network.

use std::io::Write;
use std::path::Path;

use lifeos_core::UserData;
use lifeos_core::time::Timestamp;
use lifeos_export::{Documents, Export, Format, Kind};
use serde_json::json;

use super::{Answer, CommandError};

/// Reads `--format` and `--kind`.
pub fn format(format: &str, kind: Option<&str>) -> Result<Format, CommandError> {
    let kind = kind
        .map(|k| {
            Kind::parse(k).ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                CommandError::NotFound(format!(
                    "{k:?} is not a kind of data: give one of {}",
                    names.join(", ")
                ))
            })
        })
        .transpose()?;
    match (format, kind) {
        ("json", None) => Ok(Format::Json),
        ("zip", None) => Ok(Format::Zip),
        ("csv", Some(kind)) => Ok(Format::Csv(kind)),
        ("csv", None) => Err(CommandError::NotFound(
            "CSV is one kind of data per file: add --kind tasks (or use --format zip for all)"
                .into(),
        )),
        (_, Some(_)) => Err(CommandError::NotFound(
            "--kind goes with --format csv".into(),
        )),
        (other, None) => Err(CommandError::NotFound(format!(
            "{other:?} is not an export format: json, csv or zip"
        ))),
    }
}

/// Writes the export to `out` (atomically: a temporary file renamed into
/// place) or, without `out`, to standard output; the answer describes it.
pub fn export(
    data: &mut UserData,
    account: Option<(String, String)>,
    now: Timestamp,
    format: Format,
    out: Option<&Path>,
) -> Result<Answer, CommandError> {
    let (id, email) = account.unwrap_or_else(|| ("local".into(), String::new()));
    let documents = Documents::from_user_data(data);
    let export = Export::prepare(&documents, lifeos_export::Account { id, email }, now)
        .map_err(|e| CommandError::NotFound(format!("cannot export: {e}")))?;
    let Some(path) = out else {
        if matches!(format, Format::Zip) && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            return Err(CommandError::NotFound(
                "a zip is not for the terminal: add --out FILE".into(),
            ));
        }
        let mut stdout = std::io::stdout().lock();
        export
            .write(format, &mut stdout)
            .map_err(|e| CommandError::NotFound(format!("cannot export: {e}")))?;
        stdout
            .flush()
            .map_err(|e| CommandError::NotFound(format!("cannot export: {e}")))?;
        return Ok(Answer {
            text: String::new(),
            json: serde_json::Value::Null,
        });
    };
    let io = |e: std::io::Error| CommandError::NotFound(format!("{}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    export
        .write(format, &mut file)
        .map_err(|e| CommandError::NotFound(format!("cannot export: {e}")))?;
    file.as_file().sync_all().map_err(io)?;
    let bytes = file.as_file().metadata().map_err(io)?.len();
    file.persist(path).map_err(|e| io(e.error))?;
    Ok(Answer {
        text: format!("Exported to {} ({bytes} bytes)", path.display()),
        json: json!({ "file": path, "bytes": bytes }),
    })
}
