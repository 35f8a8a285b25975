//! The app's screens, one module each.

pub mod duplicates;
pub mod finance;
pub mod habits;
pub mod matrix;
pub mod security;
pub mod settings;
pub mod tasks;
pub mod today;
