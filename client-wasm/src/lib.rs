//! The LifeOS web app: a yew/WASM progressive web app on `lifeos-core`.
//!
//! Local first: the app opens the user's documents from IndexedDB and renders
//! before touching the network; signing in starts live sync with the relay.
//! [`engine`] is the state machine (documents, storage records, sync
//! protocol) and is tested natively; `runtime` runs it in the browser;
//! `app` and `screens` are the user interface.

pub mod account;
pub mod engine;
pub mod views;
pub mod words;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod idb;
#[cfg(target_arch = "wasm32")]
mod runtime;
#[cfg(target_arch = "wasm32")]
mod screens;
#[cfg(target_arch = "wasm32")]
mod ui;

/// Starts the app in the page's `<div id="app">` (the app renders the one `<main>`).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    let root = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("app"))
        .expect("index.html has <div id=\"app\">");
    yew::Renderer::<app::Root>::with_root(root).render();
}
