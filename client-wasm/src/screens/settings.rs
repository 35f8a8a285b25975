//! Settings: the account (sign in with its second step, register, password
//! reset, sign out), two-step sign-in and signed-in devices (in
//! [`super::security`]), sync and this device, preferences, export, and the
//! the relay's export.

use lifeos_core::money::Currency;
use lifeos_core::root::SettingsPatch;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::security::{FactorField, SecurityCard, SessionsCard};
use crate::account::check_factor;
use crate::api::{self, Factor};
use crate::app::Ctx;
use crate::engine::SyncStatus;
use crate::runtime::now;
use crate::ui::{WEEK, input_value, select_value};

/// The Settings screen.
#[function_component]
pub fn SettingsScreen() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let signed_in = ctx.rt.email();
    html! {
        <section class="screen settings">
            <h1>{ "Settings" }</h1>
            <div class="grid2">
                <div>
                    if let Some(email) = signed_in.filter(|_| !ctx.rt.session_ended()) {
                        <AccountCard email={email} />
                    } else {
                        <SignIn />
                    }
                    <SyncCard />
                    if ctx.rt.email().is_some() && !ctx.rt.session_ended() {
                        <SecurityCard />
                        <SessionsCard />
                        <SignIns />
                    }
                </div>
                <div>
                    <Preferences />
                    <ExportCard />
                </div>
            </div>
        </section>
    }
}

/// What the relay asks of a new password, said before the user types one.
const PASSWORD_RULE: &str = "At least 10 characters. A few unrelated words make a strong one.";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Login,
    /// The password was right; the account asks for a second factor.
    SecondFactor,
    Register,
    Reset,
    Confirm,
}

/// Sign in, register, or reset a password.
#[function_component]
fn SignIn() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let mode = use_state(|| Mode::Login);
    let email = use_state(|| ctx.rt.email().unwrap_or_default());
    let password = use_state(String::new);
    let token = use_state(String::new);
    // The second step's token and the factor typed for it.
    let mfa_token = use_state(String::new);
    let factor = use_state(|| Factor::Code(String::new()));
    let error = use_state(|| None::<(Option<String>, String)>);
    let info = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let submit = {
        let ctx = ctx.clone();
        let (mode, email, password, token, error, info, busy) = (
            mode.clone(),
            email.clone(),
            password.clone(),
            token.clone(),
            error.clone(),
            info.clone(),
            busy.clone(),
        );
        let (mfa_token, factor) = (mfa_token.clone(), factor.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            let m = *mode;
            let (em, pw, tk) = (
                email.trim().to_string(),
                (*password).clone(),
                token.trim().to_string(),
            );
            if m == Mode::SecondFactor
                && let Some(problem) = check_factor(&factor)
            {
                return error.set(Some((Some("factor".into()), problem.into())));
            }
            if !matches!(m, Mode::Confirm | Mode::SecondFactor) && !em.contains('@') {
                return error.set(Some((
                    Some("email".into()),
                    "Email: enter an address like you@example.com.".into(),
                )));
            }
            if matches!(m, Mode::Register | Mode::Confirm) && pw.chars().count() < 10 {
                return error.set(Some((
                    Some("password".into()),
                    "Password: use at least 10 characters.".into(),
                )));
            }
            busy.set(true);
            let (ctx, mode, error, info, busy, password) = (
                ctx.clone(),
                mode.clone(),
                error.clone(),
                info.clone(),
                busy.clone(),
                password.clone(),
            );
            let (mfa_token, factor) = (mfa_token.clone(), factor.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = match m {
                    Mode::Login => api::login(&em, &pw).await.map(|answer| match answer {
                        api::SignIn::Tokens(p) => ctx.rt.signed_in(p),
                        api::SignIn::SecondFactor { mfa_token: t } => {
                            mfa_token.set(t);
                            factor.set(Factor::Code(String::new()));
                            mode.set(Mode::SecondFactor);
                        }
                    }),
                    Mode::SecondFactor => api::verify_second_factor(&mfa_token, &factor)
                        .await
                        .map(|p| ctx.rt.signed_in(p)),
                    Mode::Register => api::register(&em, &pw).await.map(|p| ctx.rt.signed_in(p)),
                    Mode::Reset => api::request_reset(&em).await.map(|()| {
                        info.set(Some("If an account exists for this address, a mail with a reset token is on its way.".into()));
                        mode.set(Mode::Confirm);
                    }),
                    Mode::Confirm => api::confirm_reset(&tk, &pw).await.map(|()| {
                        info.set(Some("Password changed. Sign in with the new password.".into()));
                        mode.set(Mode::Login);
                    }),
                };
                busy.set(false);
                password.set(String::new());
                match result {
                    Ok(()) => error.set(None),
                    Err(e) => error.set(Some((e.field, e.message))),
                }
            });
        })
    };
    let switch = |m: Mode| {
        let (mode, error, info) = (mode.clone(), error.clone(), info.clone());
        Callback::from(move |_| {
            mode.set(m);
            error.set(None);
            info.set(None);
        })
    };
    let (title, action) = match *mode {
        Mode::Login => ("Sign in to sync", "Sign in"),
        Mode::SecondFactor => ("Two-step sign-in", "Verify"),
        Mode::Register => ("Create an account", "Create account"),
        Mode::Reset => ("Reset your password", "Send reset mail"),
        Mode::Confirm => ("Choose a new password", "Set password"),
    };
    let invalid = |f: &str| {
        error
            .as_ref()
            .is_some_and(|(field, _)| field.as_deref() == Some(f))
            .to_string()
    };
    html! {
        <form class="card auth" onsubmit={submit} aria-labelledby="auth-h">
            <h2 id="auth-h">{ title }</h2>
            if *mode == Mode::Login || *mode == Mode::Register {
                <p class="meta">{ "Everything you made on this device joins your account; nothing is lost." }</p>
            }
            if let Some(i) = &*info { <p class="info" role="status">{ i }</p> }
            if let Some((_, e)) = &*error { <p class="error" role="alert" id="auth-error">{ e }</p> }
            if *mode == Mode::SecondFactor {
                <p class="meta">{ format!("The password for {} is right. Enter the code your authenticator app shows, or one of your recovery codes.", email.trim()) }</p>
                <FactorField id="mfa" value={(*factor).clone()} onchange={let f = factor.clone(); Callback::from(move |v| f.set(v))} />
            } else if *mode != Mode::Confirm {
                <label for="email">{ "Email" }</label>
                <input id="email" type="email" autocomplete="username" required=true value={(*email).clone()} aria-invalid={invalid("email")}
                    oninput={let email = email.clone(); move |e: InputEvent| email.set(input_value(&e))} />
            } else {
                <label for="reset-token">{ "Reset token (from the mail)" }</label>
                <input id="reset-token" autocomplete="one-time-code" required=true value={(*token).clone()} aria-invalid={invalid("token")}
                    oninput={let token = token.clone(); move |e: InputEvent| token.set(input_value(&e))} />
            }
            if !matches!(*mode, Mode::Reset | Mode::SecondFactor) {
                <label for="password">{ if *mode == Mode::Confirm { "New password" } else { "Password" } }</label>
                <input id="password" type="password" required=true minlength={if *mode == Mode::Login { "1" } else { "10" }}
                    autocomplete={if *mode == Mode::Login { "current-password" } else { "new-password" }}
                    aria-describedby={(*mode != Mode::Login).then_some("password-rule")}
                    value={(*password).clone()} aria-invalid={invalid("password")}
                    oninput={let password = password.clone(); move |e: InputEvent| password.set(input_value(&e))} />
                if *mode != Mode::Login {
                    <p class="hint" id="password-rule">{ PASSWORD_RULE }</p>
                }
            }
            <button type="submit" disabled={*busy}>{ if *busy { "Please wait…" } else { action } }</button>
            <p class="row links">
                if *mode == Mode::SecondFactor { <button type="button" class="link" onclick={switch(Mode::Login)}>{ "Back to email and password" }</button> }
                else if *mode != Mode::Login { <button type="button" class="link" onclick={switch(Mode::Login)}>{ "I have an account" }</button> }
                if !matches!(*mode, Mode::Register | Mode::SecondFactor) { <button type="button" class="link" onclick={switch(Mode::Register)}>{ "Create an account" }</button> }
                if *mode == Mode::Login { <button type="button" class="link" onclick={switch(Mode::Reset)}>{ "Forgot password?" }</button> }
                if *mode == Mode::Reset { <button type="button" class="link" onclick={switch(Mode::Confirm)}>{ "I have a token" }</button> }
            </p>
        </form>
    }
}

#[derive(Properties, PartialEq)]
struct AccountProps {
    email: String,
}

#[function_component]
fn AccountCard(props: &AccountProps) -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let sign_out = {
        let ctx = ctx.clone();
        Callback::from(move |_| {
            let pending = ctx.rt.unconfirmed();
            let warning = if pending > 0 {
                format!("{pending} change(s) have not reached the relay yet and will be lost. ")
            } else {
                String::new()
            };
            let ok = web_sys::window()
                .and_then(|w| w.confirm_with_message(&format!(
                    "{warning}Sign out and delete LifeOS data from this browser? Your account keeps everything the relay has."
                )).ok())
                .unwrap_or(false);
            if !ok {
                return;
            }
            let ctx = ctx.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match ctx.rt.sign_out().await {
                    Ok(()) => {
                        if let Some(w) = web_sys::window() {
                            if let Ok(Some(storage)) = w.session_storage() {
                                let _ = storage.set_item(crate::app::SIGNED_OUT, "1");
                            }
                            let _ = w.location().replace("/");
                        }
                    }
                    Err(e) => ctx.toast.emit(format!("Signing out failed: {e}")),
                }
            });
        })
    };
    let everywhere = {
        let ctx = ctx.clone();
        Callback::from(move |_| {
            let ok = web_sys::window()
                .and_then(|w| w.confirm_with_message(
                    "Sign out every device signed in to this account, this browser too? Each keeps its data; signing in again resumes sync."
                ).ok())
                .unwrap_or(false);
            let Some(token) = ctx.rt.access_token().filter(|_| ok) else {
                if ok {
                    ctx.toast.emit("Connect to the relay first.".into());
                }
                return;
            };
            let toast = ctx.toast.clone();
            wasm_bindgen_futures::spawn_local(async move {
                toast.emit(match api::logout_all(&token).await {
                    Ok(()) => {
                        "Every device is signed out. Sign in again here to keep syncing.".into()
                    }
                    Err(e) => format!("Signing out everywhere failed: {}", e.message),
                });
            });
        })
    };
    html! {
        <section class="card" aria-labelledby="account-h">
            <h2 id="account-h">{ "Account" }</h2>
            <p>{ "Signed in as " }<strong data-testid="account-email">{ &props.email }</strong></p>
            <div class="row">
                <button class="danger" onclick={sign_out}>{ "Sign out of this browser" }</button>
                <button class="secondary" onclick={everywhere}>{ "Sign out everywhere" }</button>
            </div>
            <ChangePassword />
        </section>
    }
}

/// Changing the password: every other device signs in again.
#[function_component]
fn ChangePassword() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let open = use_state(|| false);
    let current = use_state(String::new);
    let new = use_state(String::new);
    let error = use_state(|| None::<(Option<String>, String)>);
    let busy = use_state(|| false);
    if !*open {
        return html! {
            <p><button class="link" onclick={let open = open.clone(); move |_| open.set(true)}>{ "Change password" }</button></p>
        };
    }
    let submit = {
        let (ctx, open, current, new, error, busy) = (
            ctx.clone(),
            open.clone(),
            current.clone(),
            new.clone(),
            error.clone(),
            busy.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            if new.chars().count() < 10 {
                return error.set(Some((
                    Some("new_password".into()),
                    "New password: use at least 10 characters.".into(),
                )));
            }
            let Some(token) = ctx.rt.access_token() else {
                return error.set(Some((None, "Connect to the relay first.".into())));
            };
            busy.set(true);
            let (ctx, open, current, new, error, busy) = (
                ctx.clone(),
                open.clone(),
                current.clone(),
                new.clone(),
                error.clone(),
                busy.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let result = api::change_password(&token, &current, &new).await;
                busy.set(false);
                match result {
                    Ok(pair) => {
                        ctx.rt.signed_in(pair);
                        current.set(String::new());
                        new.set(String::new());
                        error.set(None);
                        open.set(false);
                        ctx.toast.emit(
                            "Password changed. Your other devices must sign in again.".into(),
                        );
                    }
                    Err(e) => error.set(Some((e.field, e.message))),
                }
            });
        })
    };
    let invalid = |f: &str| {
        error
            .as_ref()
            .is_some_and(|(field, _)| field.as_deref() == Some(f))
            .to_string()
    };
    html! {
        <form class="auth" onsubmit={submit} aria-label="Change password">
            <h3>{ "Change password" }</h3>
            if let Some((_, e)) = &*error { <p class="error" role="alert">{ e }</p> }
            <label for="pw-current">{ "Current password" }</label>
            <input id="pw-current" type="password" autocomplete="current-password" required=true
                value={(*current).clone()} aria-invalid={invalid("current_password")}
                oninput={let current = current.clone(); move |e: InputEvent| current.set(input_value(&e))} />
            <label for="pw-new">{ "New password" }</label>
            <input id="pw-new" type="password" autocomplete="new-password" required=true minlength="10"
                aria-describedby="pw-rule" value={(*new).clone()} aria-invalid={invalid("new_password")}
                oninput={let new = new.clone(); move |e: InputEvent| new.set(input_value(&e))} />
            <p class="hint" id="pw-rule">{ PASSWORD_RULE }</p>
            <div class="row">
                <button type="submit" disabled={*busy}>{ if *busy { "Please wait…" } else { "Change password" } }</button>
                <button type="button" class="secondary" onclick={let open = open.clone(); move |_| open.set(false)}>{ "Cancel" }</button>
            </div>
        </form>
    }
}

#[function_component]
fn SyncCard() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let status = match ctx.rt.status() {
        SyncStatus::LocalOnly => {
            "Not signed in: your data is stored in this browser only.".to_string()
        }
        SyncStatus::Offline => {
            "Offline: changes are stored here and sync when the relay is reachable.".to_string()
        }
        SyncStatus::Syncing { unconfirmed } => {
            format!("Connected; {unconfirmed} change(s) not yet confirmed durable by the relay.")
        }
        SyncStatus::Synced => "Synced: the relay has stored every change.".to_string(),
    };
    let docs = ctx.rt.read(|d| d.map_or(0, |d| d.document_ids().len()));
    let quarantined = use_state(|| 0u32);
    {
        let (rt, quarantined) = (ctx.rt.clone(), quarantined.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(
                async move { quarantined.set(rt.quarantined().await) },
            );
        });
    }
    html! {
        <section class="card" aria-labelledby="sync-h">
            <h2 id="sync-h">{ "Sync and this device" }</h2>
            <p>{ status }</p>
            <dl class="stats">
                <div><dt>{ "Changes not on the relay yet" }</dt><dd data-testid="unconfirmed">{ ctx.rt.unconfirmed() }</dd></div>
                <div><dt>{ "Changes being saved in this browser" }</dt><dd>{ ctx.rt.pending_writes() }</dd></div>
            </dl>
            if *quarantined > 0 {
                <p class="warn">{ format!("{} damaged record(s) were found in this browser's storage and set aside (kept, not deleted).", *quarantined) }</p>
            }
            <p class="meta">{ format!("{docs} collections of data on this device · device id {}", ctx.rt.peer_id()) }</p>
        </section>
    }
}

/// The account's recent sign-ins and security events (from the relay's audit
/// log): which devices and addresses have access.
#[function_component]
fn SignIns() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let events = use_state(|| None::<Result<Vec<api::AuditEvent>, String>>);
    let connected = matches!(
        ctx.rt.status(),
        SyncStatus::Synced | SyncStatus::Syncing { .. }
    );
    {
        let (events, rt) = (events.clone(), ctx.rt.clone());
        use_effect_with(connected, move |connected| {
            if let (true, Some(token)) = (*connected, rt.access_token()) {
                wasm_bindgen_futures::spawn_local(async move {
                    events.set(Some(api::audit(&token).await.map_err(|e| e.message)));
                });
            }
        });
    }
    fn describe(action: &str) -> &str {
        match action {
            "register" => "Account created",
            "login" => "Signed in",
            "logout" => "Signed out",
            "logout_all" => "Signed out everywhere",
            "password_changed" => "Password changed",
            "password_reset" | "password_reset_confirmed" => "Password reset",
            "password_reset_requested" => "Password reset requested",
            "login_failed" => "Failed sign-in",
            "password_change_failed" => "Failed password change",
            "login_second_factor_required" => "Password right, code asked for",
            "mfa_failed" => "Wrong sign-in code",
            "mfa_recovery_code_used" => "Signed in with a recovery code",
            "mfa_enrolment_started" => "Two-step sign-in being set up",
            "mfa_confirm_failed" => "Wrong code while setting up two-step sign-in",
            "mfa_enabled" => "Two-step sign-in turned on",
            "mfa_disable_failed" => "Failed attempt to turn two-step sign-in off",
            "mfa_disabled" => "Two-step sign-in turned off",
            "session_ended" => "A device was signed out",
            "refresh_token_reused" => "A stolen or replayed session token was refused",
            other => other,
        }
    }
    html! {
        <section class="card" aria-labelledby="signins-h">
            <h2 id="signins-h">{ "Recent sign-ins and security events" }</h2>
            { match &*events {
                None if !connected => html! { <p class="meta">{ "Shown when connected to the relay." }</p> },
                None => html! { <p class="meta">{ "Asking the relay…" }</p> },
                Some(Err(e)) => html! { <p class="meta">{ e }</p> },
                Some(Ok(list)) => html! {
                    <ul class="plain signins">
                        { for list.iter().filter(|e| e.action != "document_created").take(12).map(|e| html! {
                            <li class="row">
                                <span>{ describe(&e.action) }</span>
                                <span class="meta">{ format!("{} · {}", e.at.get(0..16).unwrap_or(&e.at).replace('T', " "), e.ip.clone().unwrap_or_else(|| "unknown address".into())) }</span>
                            </li>
                        }) }
                    </ul>
                },
            } }
        </section>
    }
}

#[function_component]
fn Preferences() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let drafts = crate::ui::use_drafts();
    let Some(Ok(settings)) = ctx.rt.read(|d| d.map(|d| d.settings())) else {
        return html! {};
    };
    // Saves a patch; true when it was applied.
    let patch = {
        let ctx = ctx.clone();
        move |p: SettingsPatch| {
            let saved = ctx.act(|d| d.update_settings(now(), p)).is_some();
            if saved {
                ctx.toast.emit("Saved.".into());
            }
            saved
        }
    };
    let on_currency = {
        let patch = patch.clone();
        let ctx = ctx.clone();
        let drafts = drafts.clone();
        Callback::from(move |e: Event| {
            match Currency::from_code(input_value(&e).trim().to_uppercase().as_str()) {
                Ok(c) => {
                    if patch(SettingsPatch {
                        currency: Some(c),
                        ..SettingsPatch::default()
                    }) {
                        drafts.saved("currency");
                    }
                }
                Err(err) => ctx.toast.emit(crate::ui::explain(&err)),
            }
        })
    };
    let on_week = {
        let patch = patch.clone();
        Callback::from(move |e: Event| {
            if let Some(w) = WEEK.iter().find(|w| w.to_string() == select_value(&e)) {
                patch(SettingsPatch {
                    week_start: Some(*w),
                    ..SettingsPatch::default()
                });
            }
        })
    };
    let on_horizon = {
        let ctx = ctx.clone();
        let drafts = drafts.clone();
        Callback::from(
            move |e: Event| match input_value(&e).trim().parse::<u32>() {
                Ok(n) => {
                    if patch(SettingsPatch {
                        urgent_within_days: Some(n),
                        ..SettingsPatch::default()
                    }) {
                        drafts.saved("horizon");
                    }
                }
                Err(_) => ctx
                    .toast
                    .emit("Urgent within: enter a number of days, 0 to 365.".into()),
            },
        )
    };
    html! {
        <section class="card" aria-labelledby="prefs-h">
            <h2 id="prefs-h">{ "Preferences" }</h2>
            <div class="fields">
                <div>
                    <label for="p-currency">{ "Default currency" }</label>
                    <input id="p-currency" maxlength="3" value={drafts.show("currency", settings.currency.map(|c| c.code().to_string()).unwrap_or_default())}
                        oninput={drafts.oninput("currency")} placeholder="EUR" onchange={on_currency} />
                </div>
                <div>
                    <label for="p-week">{ "Week starts on" }</label>
                    <select id="p-week" onchange={on_week}>
                        { for WEEK.iter().map(|w| html! { <option value={w.to_string()} selected={*w == settings.week_start}>{ w.to_string() }</option> }) }
                    </select>
                </div>
                <div>
                    <label for="p-horizon">{ "Urgent when due within (days)" }</label>
                    <input id="p-horizon" type="number" min="0" max="365" value={drafts.show("horizon", settings.urgent_within_days.to_string())}
                        oninput={drafts.oninput("horizon")} onchange={on_horizon} />
                </div>
            </div>
        </section>
    }
}

#[function_component]
fn ExportCard() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let busy = use_state(|| false);
    let download = {
        let ctx = ctx.clone();
        Callback::from(move |_| match ctx.rt.export_json() {
            Ok(json) => {
                let blob = text_blob("application/json", &json);
                if let Err(e) = blob.and_then(|b| save_blob("lifeos-export.json", &b)) {
                    ctx.toast
                        .emit(format!("The export could not be saved: {e}"));
                }
            }
            Err(e) => ctx.toast.emit(format!("The export failed: {e}")),
        })
    };
    let from_relay = |query: &'static str| {
        let ctx = ctx.clone();
        let busy = busy.clone();
        Callback::from(move |_| {
            let Some(token) = ctx.rt.access_token() else {
                return ctx.toast.emit("Connect to the relay first.".to_string());
            };
            let (ctx, busy) = (ctx.clone(), busy.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let saved = crate::api::export(query, &token)
                    .await
                    .map_err(|e| e.message)
                    .and_then(|(blob, name)| save_blob(&name, &blob));
                busy.set(false);
                if let Err(e) = saved {
                    ctx.toast.emit(format!("The relay's export failed: {e}"));
                }
            });
        })
    };
    let connected = ctx.rt.access_token().is_some();
    html! {
        <section class="card" aria-labelledby="export-h">
            <h2 id="export-h">{ "Export" }</h2>
            <p class="meta">{ "Everything on this device as one JSON file: tasks, projects, habits with check-ins, categories and expenses. Works offline." }</p>
            <button onclick={download}>{ "Download JSON" }</button>
            if connected {
                <p class="meta">{ "Or everything the relay stores for your account (what your devices have synced), as JSON or as spreadsheet-ready CSV files in a zip." }</p>
                <div class="row">
                    <button class="secondary" disabled={*busy} onclick={from_relay("format=json")}>{ "Relay export (JSON)" }</button>
                    <button class="secondary" disabled={*busy} onclick={from_relay("format=csv&kind=all")}>{ "Relay export (CSV zip)" }</button>
                </div>
            }
        </section>
    }
}

/// A blob of `text` for [`save_blob`].
pub(super) fn text_blob(mime: &str, text: &str) -> Result<web_sys::Blob, String> {
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| crate::idb::describe(&e))
}

/// Offers `blob` as a download named `name`.
pub(super) fn save_blob(name: &str, blob: &web_sys::Blob) -> Result<(), String> {
    let err = |e: wasm_bindgen::JsValue| crate::idb::describe(&e);
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(err)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(err)?
        .dyn_into()
        .map_err(|_| "no anchor")?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}
