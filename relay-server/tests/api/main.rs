//! The relay over HTTP: each test spawns the real relay on port 0 against a
//! fresh database, once with SQLite and once with Postgres.

mod device;
mod helpers;
mod interop;
mod mail;

mod audit;
mod auth;
mod authz;
mod backup;
mod data;
mod docs;
mod export;
mod features;
mod fuzz;
mod health;
mod metrics;
mod mfa;
mod openapi;
mod proxies;
mod reset;
mod scale_out;
mod sessions;
mod signed_in;
mod slow;
mod sync;
mod web;
mod write;
