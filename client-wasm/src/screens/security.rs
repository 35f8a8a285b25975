//! Settings → Security: the second sign-in step (a code from an
//! authenticator app or a recovery code), turning two-step sign-in on (QR
//! code, first code, recovery codes to keep) and off, and the account's
//! signed-in devices with "sign out" for each.

use yew::prelude::*;

use crate::account::{Factor, check_factor, device_name, group_secret, recovery_text, short_time};
use crate::api;
use crate::app::Ctx;
use crate::ui::input_value;

/// The code field of a second step: the authenticator's six digits, or a
/// recovery code after "Use a recovery code instead".
#[derive(Properties, PartialEq)]
pub struct FactorFieldProps {
    /// Prefix of the fields' ids (two forms may show one at once).
    pub id: AttrValue,
    /// The factor typed so far.
    pub value: Factor,
    /// Called with the factor on every keystroke and switch.
    pub onchange: Callback<Factor>,
}

/// Asks for the authenticator's code, or a recovery code.
#[function_component]
pub fn FactorField(props: &FactorFieldProps) -> Html {
    let onchange = props.onchange.clone();
    let (code_id, recovery_id) = (
        format!("{}-code", props.id),
        format!("{}-recovery", props.id),
    );
    match &props.value {
        Factor::Code(code) => html! {
            <>
                <label for={code_id.clone()}>{ "Code from your authenticator app" }</label>
                <input id={code_id} inputmode="numeric" autocomplete="one-time-code" required=true
                    maxlength="12" value={code.clone()} placeholder="123 456"
                    oninput={let f = onchange.clone(); move |e: InputEvent| f.emit(Factor::Code(input_value(&e)))} />
                <p class="links"><button type="button" class="link" onclick={move |_| onchange.emit(Factor::RecoveryCode(String::new()))}>
                    { "Use a recovery code instead" }
                </button></p>
            </>
        },
        Factor::RecoveryCode(code) => html! {
            <>
                <label for={recovery_id.clone()}>{ "Recovery code" }</label>
                <input id={recovery_id} autocomplete="off" required=true maxlength="40"
                    value={code.clone()} placeholder="xxxx-xxxx-xxxx-xxxx"
                    oninput={let f = onchange.clone(); move |e: InputEvent| f.emit(Factor::RecoveryCode(input_value(&e)))} />
                <p class="links"><button type="button" class="link" onclick={move |_| onchange.emit(Factor::Code(String::new()))}>
                    { "Use the authenticator app" }
                </button></p>
            </>
        },
    }
}

#[derive(Clone, PartialEq)]
enum Security {
    Loading,
    Failed(String),
    Off,
    Enrolling(api::Enrolment),
    /// Just turned on: the recovery codes, shown this once.
    Codes(Vec<String>),
    On(api::MfaStatus),
}

/// Two-step sign-in: its state, turning it on and off.
#[function_component]
pub fn SecurityCard() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let state = use_state(|| Security::Loading);
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    let factor = use_state(|| Factor::Code(String::new()));
    let password = use_state(String::new);
    let token = ctx.rt.access_token();
    let load = {
        let (state, token) = (state.clone(), token.clone());
        Callback::from(move |()| {
            let (state, token) = (state.clone(), token.clone());
            let Some(token) = token else {
                return state.set(Security::Failed(
                    "Shown when connected to the relay.".into(),
                ));
            };
            wasm_bindgen_futures::spawn_local(async move {
                state.set(match api::mfa_status(&token).await {
                    Ok(s) if s.enabled => Security::On(s),
                    Ok(_) => Security::Off,
                    Err(e) => Security::Failed(e.message),
                });
            });
        })
    };
    {
        let load = load.clone();
        use_effect_with(token.is_some(), move |_| load.emit(()));
    }
    let run = Runner {
        busy: busy.clone(),
        error: error.clone(),
        token: token.clone(),
    };
    let start = {
        let (run, state) = (run.clone(), state.clone());
        let factor = factor.clone();
        Callback::from(move |_| {
            let state = state.clone();
            factor.set(Factor::Code(String::new()));
            run.run(move |token| async move {
                let enrolment = api::enrol_totp(&token).await?;
                state.set(Security::Enrolling(enrolment));
                Ok(())
            });
        })
    };
    let confirm = {
        let (run, state, factor, error) =
            (run.clone(), state.clone(), factor.clone(), error.clone());
        let toast = ctx.toast.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(problem) = check_factor(&factor) {
                return error.set(Some(problem.into()));
            }
            let Factor::Code(code) = (*factor).clone() else {
                return;
            };
            let (state, toast) = (state.clone(), toast.clone());
            run.run(move |token| async move {
                let codes = api::confirm_totp(&token, code.trim()).await?;
                state.set(Security::Codes(codes));
                toast.emit("Two-step sign-in is on.".into());
                Ok(())
            });
        })
    };
    let disable = {
        let (run, factor, password, error, load) = (
            run.clone(),
            factor.clone(),
            password.clone(),
            error.clone(),
            load.clone(),
        );
        let toast = ctx.toast.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if password.is_empty() {
                return error.set(Some("Password: enter your password.".into()));
            }
            if let Some(problem) = check_factor(&factor) {
                return error.set(Some(problem.into()));
            }
            let (pw, f, load, toast) = (
                (*password).clone(),
                (*factor).clone(),
                load.clone(),
                toast.clone(),
            );
            password.set(String::new());
            let factor = factor.clone();
            run.run(move |token| async move {
                api::disable_totp(&token, &pw, &f).await?;
                factor.set(Factor::Code(String::new()));
                toast.emit("Two-step sign-in is off.".into());
                load.emit(());
                Ok(())
            });
        })
    };
    let on_factor = {
        let factor = factor.clone();
        Callback::from(move |f| factor.set(f))
    };
    let error_line = html! {
        if let Some(e) = &*error { <p class="error" role="alert" id="security-error">{ e }</p> }
    };
    let body = match &*state {
        Security::Loading => html! { <p class="meta">{ "Asking the relay…" }</p> },
        Security::Failed(e) => html! { <p class="meta">{ e }</p> },
        Security::Off => html! {
            <>
                <p>{ "Two-step sign-in is off. With it on, signing in on a new device needs your password and a code from an authenticator app on your phone." }</p>
                { error_line }
                <button onclick={start} disabled={*busy}>{ "Turn on two-step sign-in" }</button>
            </>
        },
        Security::Enrolling(enrolment) => {
            let src = format!(
                "data:image/svg+xml,{}",
                js_sys::encode_uri_component(&enrolment.qr_svg)
            );
            let cancel = {
                let (state, error) = (state.clone(), error.clone());
                Callback::from(move |_| {
                    error.set(None);
                    state.set(Security::Off);
                })
            };
            html! {
                <form class="auth" onsubmit={confirm}>
                    <p>{ "1. Scan this code with an authenticator app (Aegis, 2FAS, Google Authenticator, 1Password…)." }</p>
                    <img class="qr" src={src} width="220" height="220" alt="QR code of the two-step sign-in secret" data-testid="totp-qr" />
                    <p class="meta">{ "Or type this key into the app: " }<code data-testid="totp-secret">{ group_secret(&enrolment.secret) }</code></p>
                    <p>{ "2. Enter the code it shows." }</p>
                    { error_line }
                    <label for="totp-confirm">{ "Code from your authenticator app" }</label>
                    <input id="totp-confirm" inputmode="numeric" autocomplete="one-time-code" required=true maxlength="12"
                        value={match &*factor { Factor::Code(c) => c.clone(), Factor::RecoveryCode(_) => String::new() }}
                        oninput={let f = factor.clone(); move |e: InputEvent| f.set(Factor::Code(input_value(&e)))} />
                    <div class="row">
                        <button type="submit" disabled={*busy}>{ if *busy { "Please wait…" } else { "Turn on" } }</button>
                        <button type="button" class="secondary" onclick={cancel}>{ "Cancel" }</button>
                    </div>
                </form>
            }
        }
        Security::Codes(codes) => {
            let text = recovery_text(codes);
            let copy = {
                let (text, toast) = (text.clone(), ctx.toast.clone());
                Callback::from(move |_| {
                    let Some(clipboard) = web_sys::window().map(|w| w.navigator().clipboard())
                    else {
                        return;
                    };
                    let (promise, toast) = (clipboard.write_text(&text), toast.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        toast.emit(match wasm_bindgen_futures::JsFuture::from(promise).await {
                            Ok(_) => "Recovery codes copied.".into(),
                            Err(_) => {
                                "This browser did not allow copying; download them instead.".into()
                            }
                        });
                    });
                })
            };
            let download = {
                let (text, toast) = (text.clone(), ctx.toast.clone());
                Callback::from(move |_| {
                    let saved = super::settings::text_blob("text/plain", &text)
                        .and_then(|b| super::settings::save_blob("lifeos-recovery-codes.txt", &b));
                    if let Err(e) = saved {
                        toast.emit(format!("The codes could not be saved: {e}"));
                    }
                })
            };
            let done = {
                let load = load.clone();
                Callback::from(move |_| load.emit(()))
            };
            html! {
                <>
                    <p role="status">{ "Two-step sign-in is on. Keep these recovery codes somewhere safe: each signs you in once if you lose your phone. They are shown only now." }</p>
                    <ol class="codes" data-testid="recovery-codes">
                        { for codes.iter().map(|c| html! { <li><code>{ c }</code></li> }) }
                    </ol>
                    <div class="row">
                        <button class="secondary" onclick={copy}>{ "Copy codes" }</button>
                        <button class="secondary" onclick={download}>{ "Download codes" }</button>
                        <button onclick={done}>{ "I have saved them" }</button>
                    </div>
                </>
            }
        }
        Security::On(status) => html! {
            <form class="auth" onsubmit={disable}>
                <p data-testid="mfa-on">{ format!(
                    "Two-step sign-in is on. {} of 10 recovery codes left.",
                    status.recovery_codes_left
                ) }</p>
                if status.recovery_codes_left <= 3 {
                    <p class="warn">{ "Few recovery codes are left: turn two-step sign-in off and on again for ten new ones." }</p>
                }
                <h3>{ "Turn it off" }</h3>
                { error_line }
                <label for="mfa-off-password">{ "Password" }</label>
                <input id="mfa-off-password" type="password" autocomplete="current-password" required=true value={(*password).clone()}
                    oninput={let p = password.clone(); move |e: InputEvent| p.set(input_value(&e))} />
                <FactorField id="mfa-off" value={(*factor).clone()} onchange={on_factor} />
                <p class="actions">
                    <button type="submit" class="danger" disabled={*busy}>{ if *busy { "Please wait…" } else { "Turn off two-step sign-in" } }</button>
                </p>
            </form>
        },
    };
    html! {
        <section class="card" aria-labelledby="security-h">
            <h2 id="security-h">{ "Two-step sign-in" }</h2>
            { body }
        </section>
    }
}

/// Runs one call to the relay with the card's busy flag and error line.
#[derive(Clone)]
struct Runner {
    busy: UseStateHandle<bool>,
    error: UseStateHandle<Option<String>>,
    token: Option<String>,
}

impl Runner {
    fn run<F>(&self, call: impl FnOnce(String) -> F + 'static)
    where
        F: std::future::Future<Output = Result<(), api::ApiError>> + 'static,
    {
        let Some(token) = self.token.clone() else {
            return self.error.set(Some("Connect to the relay first.".into()));
        };
        self.busy.set(true);
        let (busy, error) = (self.busy.clone(), self.error.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let result = call(token).await;
            busy.set(false);
            error.set(result.err().map(|e| e.message));
        });
    }
}

/// The account's signed-in devices, each with "Sign out".
#[function_component]
pub fn SessionsCard() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let sessions = use_state(|| None::<Result<Vec<api::Session>, String>>);
    let reload = use_state(|| 0u32);
    let token = ctx.rt.access_token();
    {
        let (sessions, token) = (sessions.clone(), token.clone());
        use_effect_with((token.is_some(), *reload), move |_| {
            if let Some(token) = token {
                wasm_bindgen_futures::spawn_local(async move {
                    let list = api::sessions(&token).await.map(|mut list| {
                        // This browser first, then the most recently used.
                        list.sort_by_key(|s| !s.current);
                        list
                    });
                    sessions.set(Some(list.map_err(|e| e.message)));
                });
            }
        });
    }
    let end = |session: &api::Session| {
        let (token, reload, toast) = (token.clone(), reload.clone(), ctx.toast.clone());
        let (id, name) = (
            session.id.clone(),
            device_name(session.user_agent.as_deref()),
        );
        Callback::from(move |_| {
            let Some(token) = token.clone() else { return };
            let (id, name, reload, toast) =
                (id.clone(), name.clone(), reload.clone(), toast.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::end_session(&token, &id).await {
                    Ok(()) => toast.emit(format!("{name} is signed out.")),
                    Err(e) => toast.emit(format!("{name} could not be signed out: {}", e.message)),
                }
                reload.set(*reload + 1);
            });
        })
    };
    html! {
        <section class="card" aria-labelledby="sessions-h">
            <h2 id="sessions-h">{ "Signed-in devices" }</h2>
            { match &*sessions {
                None if token.is_none() => html! { <p class="meta">{ "Shown when connected to the relay." }</p> },
                None => html! { <p class="meta">{ "Asking the relay…" }</p> },
                Some(Err(e)) => html! { <p class="meta">{ e }</p> },
                Some(Ok(list)) => html! {
                    <ul class="plain sessions">
                        { for list.iter().map(|s| html! {
                            <li class="row" data-testid="session">
                                <span>
                                    <strong>{ device_name(s.user_agent.as_deref()) }</strong>
                                    if s.current { <span class="badge">{ "This browser" }</span> }
                                    <br />
                                    <span class="meta">{ format!(
                                        "Signed in {} · last used {} · {}",
                                        short_time(&s.created_at),
                                        short_time(&s.last_used_at),
                                        s.ip.clone().unwrap_or_else(|| "unknown address".into())
                                    ) }</span>
                                </span>
                                if !s.current {
                                    <button class="secondary" onclick={end(s)}>{ "Sign out" }</button>
                                }
                            </li>
                        }) }
                    </ul>
                },
            } }
        </section>
    }
}
