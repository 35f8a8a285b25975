//! `lifeos-core`: the LifeOS domain (tasks, habits, money) on Automerge
//! documents, and every rule computed on it (Today, Eisenhower quadrants,
//! repetition, streaks, habit strength, budgets).
//!
//! The crate is sans-IO: no sockets, files, clocks or threads. The current
//! time and the user's "today" are passed in, so the browser (wasm32), the
//! native CLI and the relay compute exactly the same answers.
//!
//! ```
//! use lifeos_core::tasks::{NewTask, TasksDoc};
//! use lifeos_core::time::{parse_date, Timestamp};
//!
//! let mut tasks = TasksDoc::new();
//! let now = Timestamp::from_millis(1_764_000_000_000);
//! let id = tasks.add_task(now, NewTask {
//!     title: "Call mom".into(),
//!     due: Some(parse_date("due", "2026-11-27")?),
//!     ..NewTask::default()
//! })?;
//! assert_eq!(tasks.task(id)?.title, "Call mom");
//! # Ok::<(), lifeos_core::Error>(())
//! ```

pub mod doc;
pub mod error;
pub mod finance;
pub mod habits;
pub mod id;
pub mod local;
pub mod money;
pub mod position;
pub mod root;
pub mod schema;
pub mod sync;
pub mod tasks;
pub mod time;
pub mod today;
pub mod user;

pub use doc::LifeDoc;
pub use error::{Error, Result};
pub use id::{DocumentId, EntityId};
pub use money::{Currency, Money, Totals};
pub use schema::{DocKind, SCHEMA_VERSION};
pub use user::UserData;
