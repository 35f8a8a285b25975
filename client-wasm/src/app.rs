//! The app shell: start-up, routing, navigation, the sync status, banners.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

use crate::engine::SyncStatus;
use crate::runtime::Runtime;
use crate::screens::{
    finance::Finance, habits::Habits, matrix::Matrix, settings::SettingsScreen, tasks::Tasks,
    today::TodayScreen,
};

/// The screens, one per path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Today,
    Tasks,
    Matrix,
    Habits,
    Finance,
    Settings,
}

impl Route {
    const ALL: [Route; 6] = [
        Route::Today,
        Route::Tasks,
        Route::Matrix,
        Route::Habits,
        Route::Finance,
        Route::Settings,
    ];

    fn from_path(path: &str) -> Route {
        match path.trim_end_matches('/') {
            "/tasks" => Route::Tasks,
            "/matrix" => Route::Matrix,
            "/habits" => Route::Habits,
            "/finance" => Route::Finance,
            "/settings" => Route::Settings,
            _ => Route::Today,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Route::Today => "/",
            Route::Tasks => "/tasks",
            Route::Matrix => "/matrix",
            Route::Habits => "/habits",
            Route::Finance => "/finance",
            Route::Settings => "/settings",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Route::Today => "Today",
            Route::Tasks => "Tasks",
            Route::Matrix => "Matrix",
            Route::Habits => "Habits",
            Route::Finance => "Finance",
            Route::Settings => "Settings",
        }
    }

    fn icon(self) -> &'static str {
        match self {
            Route::Today => "☀",
            Route::Tasks => "☑",
            Route::Matrix => "▦",
            Route::Habits => "◎",
            Route::Finance => "¤",
            Route::Settings => "⚙",
        }
    }
}

/// What every screen gets: the runtime, and what changed.
#[derive(Clone)]
pub struct Ctx {
    /// The running app.
    pub rt: Rc<Runtime>,
    /// Bumped on every change.
    pub rev: u64,
    /// Shows a short message.
    pub toast: Callback<String>,
}

impl PartialEq for Ctx {
    fn eq(&self, other: &Self) -> bool {
        self.rev == other.rev && Rc::ptr_eq(&self.rt, &other.rt)
    }
}

impl Ctx {
    /// Runs an action on the user's data; a refused action is explained in a toast.
    pub fn act<T>(
        &self,
        f: impl FnOnce(&mut lifeos_core::UserData) -> lifeos_core::Result<T>,
    ) -> Option<T> {
        match self.rt.act(f) {
            Ok(v) => Some(v),
            Err(e) => {
                self.toast.emit(crate::ui::explain(&e));
                None
            }
        }
    }
}

fn current_path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".into())
}

/// The whole app.
#[function_component]
pub fn Root() -> Html {
    let runtime = use_state(|| None::<Result<Rc<Runtime>, String>>);
    let rev = use_state(|| 0u64);
    let route = use_state(|| Route::from_path(&current_path()));
    let toasts = use_state(Vec::<(u32, String)>::new);
    let update_ready = use_state(|| false);

    {
        let runtime = runtime.clone();
        let rev = rev.setter();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let started = Runtime::start().await;
                if let Ok(rt) = &started {
                    let weak = Rc::downgrade(rt);
                    rt.set_notify(Rc::new(move || {
                        if let Some(rt) = weak.upgrade() {
                            rev.set(rt.revision.get());
                        }
                    }));
                }
                runtime.set(Some(started));
            });
        });
    }
    {
        // Back and forward buttons.
        let route = route.clone();
        let update_ready = update_ready.clone();
        use_effect_with((), move |_| {
            let on_pop = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                route.set(Route::from_path(&current_path()));
            });
            let on_update = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                update_ready.set(true);
            });
            let window = web_sys::window().expect("window");
            let _ = window
                .add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
            let _ = window.add_event_listener_with_callback(
                "lifeos-update-ready",
                on_update.as_ref().unchecked_ref(),
            );
            if js_sys::Reflect::get(&window, &"__lifeosUpdateReady".into())
                .is_ok_and(|v| v.is_truthy())
            {
                let _ = window
                    .dispatch_event(&web_sys::Event::new("lifeos-update-ready").expect("event"));
            }
            move || {
                let window = web_sys::window().expect("window");
                let _ = window.remove_event_listener_with_callback(
                    "popstate",
                    on_pop.as_ref().unchecked_ref(),
                );
                let _ = window.remove_event_listener_with_callback(
                    "lifeos-update-ready",
                    on_update.as_ref().unchecked_ref(),
                );
            }
        });
    }

    let toast = {
        let toasts = toasts.clone();
        Callback::from(move |message: String| {
            let id = (js_sys::Math::random() * 1e9) as u32;
            let mut list = (*toasts).clone();
            list.push((id, message));
            // Two at most, so a burst of adds never covers the screen.
            if list.len() > 2 {
                list.remove(0);
            }
            toasts.set(list);
            let toasts = toasts.clone();
            gloo_timers::callback::Timeout::new(5000, move || {
                toasts.set(toasts.iter().filter(|(i, _)| *i != id).cloned().collect());
            })
            .forget();
        })
    };

    {
        // The first render with the user's data: what the browser benchmark measures.
        let ready = runtime.as_ref().is_some_and(Result::is_ok);
        use_effect_with(ready, move |ready| {
            if *ready && let Some(p) = web_sys::window().and_then(|w| w.performance()) {
                let _ = p.mark("lifeos-ready");
            }
        });
    }

    {
        // Signing out reloads the app; the new page says it happened.
        let toast = toast.clone();
        let ready = runtime.as_ref().is_some_and(Result::is_ok);
        use_effect_with(ready, move |ready| {
            if *ready
                && let Some(storage) =
                    web_sys::window().and_then(|w| w.session_storage().ok().flatten())
                && storage.get_item(SIGNED_OUT).ok().flatten().is_some()
            {
                let _ = storage.remove_item(SIGNED_OUT);
                toast.emit(
                    "You are signed out. This browser's LifeOS data is deleted; your account keeps everything the relay stored."
                        .into(),
                );
            }
        });
    }

    let rt = match &*runtime {
        None => {
            return html! { <div class="splash" role="status" aria-live="polite">{ "Opening LifeOS…" }</div> };
        }
        Some(Err(e)) => {
            return html! {
                <div class="splash error" role="alert">
                    <h1>{ "LifeOS cannot start" }</h1>
                    <p>{ e }</p>
                    <p>{ "Nothing was changed. Private browsing modes sometimes block storage; try a normal window." }</p>
                </div>
            };
        }
        Some(Ok(rt)) => rt.clone(),
    };
    let ctx = Ctx {
        rt: rt.clone(),
        rev: *rev,
        toast: toast.clone(),
    };

    let go = {
        let route = route.clone();
        Callback::from(move |(e, r): (MouseEvent, Route)| {
            if e.ctrl_key() || e.meta_key() || e.shift_key() || e.button() != 0 {
                return;
            }
            e.prevent_default();
            if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
                let _ = history.push_state_with_url(&JsValue::NULL, "", Some(r.path()));
            }
            route.set(r);
            if let Some(el) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("content"))
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = el.focus();
            }
        })
    };

    let nav = Route::ALL.iter().map(|r| {
        let r = *r;
        let go = go.clone();
        let current = (*route == r).then_some("page");
        html! {
            <a href={r.path()} aria-current={current} class="nav-link" onclick={move |e| go.emit((e, r))}>
                <span class="nav-icon" aria-hidden="true">{ r.icon() }</span>
                <span class="nav-label">{ r.title() }</span>
            </a>
        }
    });

    let screen = match *route {
        Route::Today => html! { <TodayScreen /> },
        Route::Tasks => html! { <Tasks /> },
        Route::Matrix => html! { <Matrix /> },
        Route::Habits => html! { <Habits /> },
        Route::Finance => html! { <Finance /> },
        Route::Settings => html! { <SettingsScreen /> },
    };
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        doc.set_title(&format!("{} · LifeOS", route.title()));
    }

    let problems = rt.problems();
    let dismiss = {
        let rt = rt.clone();
        Callback::from(move |_| rt.dismiss_problems())
    };
    let apply_update = Callback::from(|_| {
        if let Some(w) = web_sys::window()
            && let Ok(f) = js_sys::Reflect::get(&w, &"__lifeosApplyUpdate".into())
            && let Some(f) = f.dyn_ref::<js_sys::Function>()
        {
            let _ = f.call0(&JsValue::NULL);
        }
    });

    html! {
        <ContextProvider<Ctx> context={ctx}>
            <div class="shell">
                <a class="skip" href="#content">{ "Skip to content" }</a>
                <header class="topbar">
                    <span class="brand">{ "LifeOS" }</span>
                    <SyncBadge />
                </header>
                <nav class="nav" aria-label="Main">{ for nav }</nav>
                <div class="main">
                    if *update_ready {
                        <div class="banner info" role="status">
                            { "A new version of LifeOS is ready." }
                            <button onclick={apply_update}>{ "Reload to update" }</button>
                        </div>
                    }
                    if let Some(e) = rt.save_error() {
                        <div class="banner error" role="alert">{ e }</div>
                    }
                    if rt.session_ended() {
                        <div class="banner warn" role="alert">
                            { "Your session ended, so sync is paused. Your data is safe on this device. " }
                            <a href="/settings" onclick={let go = go.clone(); move |e| go.emit((e, Route::Settings))}>{ "Sign in again" }</a>
                        </div>
                    }
                    if !problems.is_empty() {
                        <div class="banner warn" role="alert">
                            <ul>{ for problems.iter().map(|p| html! { <li>{ p }</li> }) }</ul>
                            <button onclick={dismiss}>{ "Dismiss" }</button>
                        </div>
                    }
                    <main id="content" tabindex="-1" aria-label={route.title()}>{ screen }</main>
                </div>
                <div class="toasts" role="status" aria-live="polite">
                    { for toasts.iter().map(|(_, t)| html! { <div class="toast">{ t }</div> }) }
                </div>
            </div>
        </ContextProvider<Ctx>>
    }
}

/// The session storage key that tells the reloaded app the user just signed out.
pub const SIGNED_OUT: &str = "lifeos-signed-out";

/// Offline / syncing (n unconfirmed) / synced.
#[function_component]
fn SyncBadge() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let (class, text, title) = match ctx.rt.status() {
        SyncStatus::LocalOnly => (
            "local",
            "On this device".to_string(),
            "Not signed in: your data stays on this device. Sign in under Settings to sync.",
        ),
        SyncStatus::Offline => {
            let n = ctx.rt.unconfirmed();
            let text = if n > 0 {
                format!("Offline · {n} not synced")
            } else {
                "Offline".to_string()
            };
            (
                "offline",
                text,
                "Not connected to the relay; changes are saved here and sync when it is back.",
            )
        }
        SyncStatus::Syncing { unconfirmed } => (
            "syncing",
            if unconfirmed > 0 {
                format!("Syncing · {unconfirmed} not confirmed")
            } else {
                "Syncing".to_string()
            },
            "Connected; waiting for the relay to confirm it has stored every change.",
        ),
        SyncStatus::Synced => (
            "synced",
            "Synced".to_string(),
            "The relay has stored every change.",
        ),
    };
    html! {
        <span class={classes!("sync", class)} role="status" aria-live="polite" title={title} data-testid="sync-status">
            <span class="dot" aria-hidden="true"></span>{ text }
        </span>
    }
}
