//! CSV files as the importers read them: every row with its line, every
//! field addressable by its column, and errors that say where.

use std::sync::Arc;

use super::{ImportError, Location, MAX_FIELD_BYTES, MAX_RECORDS};

/// How to read one CSV file.
pub(crate) struct Shape {
    /// The field separator.
    pub delimiter: u8,
    /// Lines before the header (a bank's preamble).
    pub skip_lines: usize,
    /// Whether the first row (after the skipped lines) names the columns.
    pub header: bool,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            delimiter: b',',
            skip_lines: 0,
            header: true,
        }
    }
}

/// A CSV file, read whole.
pub(crate) struct Table {
    /// The file's name in messages.
    pub file: Arc<str>,
    /// The header's names (trimmed), empty without one.
    pub header: Vec<String>,
    /// The header's line.
    pub header_line: u64,
    /// The rows after the header, without rows whose fields are all empty.
    pub rows: Vec<Row>,
}

/// One row.
pub(crate) struct Row {
    file: Arc<str>,
    /// Its (first) line.
    pub line: u64,
    fields: csv::StringRecord,
}

impl Table {
    /// Reads `bytes` (a UTF-8 byte order mark is ignored).
    pub fn read(file: Arc<str>, bytes: &[u8], shape: &Shape) -> Result<Table, ImportError> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let mut start = 0;
        for skipped in 0..shape.skip_lines {
            match bytes[start..].iter().position(|b| *b == b'\n') {
                Some(i) => start += i + 1,
                None => {
                    return Err(ImportError::invalid(
                        Location {
                            file: file.clone(),
                            line: skipped as u64 + 1,
                            column: 1,
                        },
                        format!(
                            "the file ends before the {} lines to skip",
                            shape.skip_lines
                        ),
                    ));
                }
            }
        }
        let offset = shape.skip_lines as u64;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(shape.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(&bytes[start..]);
        let mut table = Table {
            file: file.clone(),
            header: Vec::new(),
            header_line: offset + 1,
            rows: Vec::new(),
        };
        let mut first = true;
        for record in reader.records() {
            let fields = record.map_err(|e| csv_error(&file, offset, &e))?;
            let line = fields.position().map_or(0, |p| p.line()) + offset;
            if let Some(long) = fields.iter().position(|f| f.len() > MAX_FIELD_BYTES) {
                return Err(ImportError::invalid(
                    Location {
                        file: file.clone(),
                        line,
                        column: long as u64 + 1,
                    },
                    format!("a field longer than {MAX_FIELD_BYTES} bytes"),
                ));
            }
            if first && shape.header {
                first = false;
                table.header = fields.iter().map(|f| f.trim().to_string()).collect();
                table.header_line = line;
                continue;
            }
            first = false;
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if table.rows.len() == MAX_RECORDS {
                return Err(ImportError::invalid(
                    Location {
                        file: file.clone(),
                        line,
                        column: 1,
                    },
                    format!("more than {MAX_RECORDS} rows: split the file"),
                ));
            }
            table.rows.push(Row {
                file: file.clone(),
                line,
                fields,
            });
        }
        Ok(table)
    }

    /// The index of the column named `name` (case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    /// The column named by one of `names`, or an error that says which
    /// column the file lacks.
    pub fn require(&self, names: &[&str]) -> Result<usize, ImportError> {
        names.iter().find_map(|n| self.column(n)).ok_or_else(|| {
            let wanted = names.join(" or ");
            ImportError::invalid(
                self.header_at(),
                format!(
                    "the header has no {wanted} column (it has: {})",
                    self.header.join(", ")
                ),
            )
        })
    }

    /// The column named by one of `names`, if any.
    pub fn optional(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.column(n))
    }

    /// Where the header is.
    pub fn header_at(&self) -> Location {
        Location {
            file: self.file.clone(),
            line: self.header_line,
            column: 1,
        }
    }
}

impl Row {
    /// Field `column` (0-based), trimmed; empty when the row is shorter.
    pub fn get(&self, column: usize) -> &str {
        self.fields.get(column).map_or("", str::trim)
    }

    /// Field `column` if the row has it and it is not empty.
    pub fn get_opt(&self, column: Option<usize>) -> Option<&str> {
        column.map(|c| self.get(c)).filter(|v| !v.is_empty())
    }

    /// Where field `column` (0-based) is.
    pub fn at(&self, column: usize) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line,
            column: column as u64 + 1,
        }
    }

    /// An error at field `column`.
    pub fn error(&self, column: usize, message: impl Into<String>) -> ImportError {
        ImportError::invalid(self.at(column), message)
    }
}

fn csv_error(file: &Arc<str>, offset: u64, e: &csv::Error) -> ImportError {
    let at = |line: u64, column: u64| Location {
        file: file.clone(),
        line: line + offset,
        column,
    };
    match e.kind() {
        csv::ErrorKind::Utf8 { pos, err } => ImportError::invalid(
            at(pos.as_ref().map_or(0, |p| p.line()), err.field() as u64 + 1),
            "this field is not UTF-8 text (convert the file, for example with iconv -f latin1 -t utf-8)",
        ),
        _ => ImportError::invalid(
            at(e.position().map_or(0, |p| p.line()), 1),
            format!("not readable as CSV: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str, shape: &Shape) -> Result<Table, ImportError> {
        Table::read(Arc::from("t.csv"), text.as_bytes(), shape)
    }

    #[test]
    fn rows_know_their_lines_and_columns() {
        let t = table(
            "\u{feff}Date,Amount\n2026-11-01,\"1,5\"\n\n,\n\"multi\nline\",3\n",
            &Shape::default(),
        )
        .unwrap();
        assert_eq!(t.header, vec!["Date", "Amount"]);
        assert_eq!(t.column("amount"), Some(1));
        assert_eq!(t.rows.len(), 2, "empty rows are left out");
        assert_eq!(t.rows[0].line, 2);
        assert_eq!(t.rows[0].get(1), "1,5");
        assert_eq!(t.rows[0].get(7), "");
        assert_eq!(t.rows[1].line, 5);
        assert_eq!(t.rows[1].at(1).to_string(), "t.csv:5:2");
        let missing = t.require(&["Payee", "Name"]).err().unwrap().to_string();
        assert_eq!(
            missing,
            "t.csv:1:1: the header has no Payee or Name column (it has: Date, Amount)"
        );
    }

    #[test]
    fn skipped_lines_count_in_positions_and_bad_bytes_are_located() {
        let shape = Shape {
            delimiter: b';',
            skip_lines: 2,
            header: true,
        };
        let t = table("Account 123\nExported today\nA;B\n1;2\n", &shape).unwrap();
        assert_eq!(t.header_line, 3);
        assert_eq!(t.rows[0].line, 4);
        assert_eq!(t.rows[0].get(1), "2");
        let short = table("only one line\n", &shape).err().unwrap().to_string();
        assert!(short.starts_with("t.csv:2:1:"), "{short}");
        let latin1 = Table::read(Arc::from("t.csv"), b"A,B\nok,caf\xe9\n", &Shape::default());
        let e = latin1.err().unwrap().to_string();
        assert!(e.starts_with("t.csv:2:2: "), "{e}");
        assert!(e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn huge_fields_are_refused() {
        let text = format!("A\n{}\n", "x".repeat(MAX_FIELD_BYTES + 1));
        let e = table(&text, &Shape::default()).err().unwrap().to_string();
        assert!(e.starts_with("t.csv:2:1: a field longer"), "{e}");
    }
}
