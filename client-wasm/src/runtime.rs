//! The browser side of the engine: IndexedDB writes in order, the WebSocket
//! to the relay with reconnect backoff, access tokens and their refresh.
//! Screens call [`Runtime::act`]; everything else happens here.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use gloo_timers::callback::Timeout;
use lifeos_core::UserData;
use lifeos_core::sync::reconnect::{AfterClose, Backoff, after_close};
use lifeos_core::time::{Date, Timestamp};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::api::{self, ApiError, TokenPair};
use crate::engine::{Effects, Engine, SyncStatus, Write};
use crate::idb::{Db, describe};

/// The current time.
pub fn now() -> Timestamp {
    Timestamp::from_millis(js_sys::Date::now() as i64)
}

/// Today's date in the browser's time zone.
pub fn today() -> Date {
    let d = js_sys::Date::new_0();
    Date::from_ymd_opt(d.get_full_year() as i32, d.get_month() + 1, d.get_date())
        .expect("the browser's date is a date")
}

fn random_peer() -> String {
    let n = (js_sys::Math::random() * 1e15) as u64;
    format!("web-{n:x}")
}

struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// The running app outside the screens.
pub struct Runtime {
    engine: RefCell<Engine>,
    db: Db,
    queue: RefCell<VecDeque<Vec<Write>>>,
    writing: Cell<bool>,
    socket: RefCell<Option<Socket>>,
    connected: Cell<bool>,
    access: RefCell<Option<String>>,
    backoff: RefCell<Backoff>,
    reconnect: RefCell<Option<Timeout>>,
    refresh: RefCell<Option<Timeout>>,
    refreshing: Cell<bool>,
    /// A connection attempt is under way (getting a token or a ticket).
    connecting: Cell<bool>,
    /// Set when the relay refused our session: sync stops until the user signs in again.
    session_ended: Cell<bool>,
    save_error: RefCell<Option<String>>,
    notify: RefCell<Option<Rc<dyn Fn()>>>,
    /// Bumped on every change the screens may show.
    pub revision: Cell<u64>,
}

impl Runtime {
    /// Opens storage and the documents; starts sync if signed in.
    pub async fn start() -> Result<Rc<Runtime>, String> {
        let db = Db::open()
            .await
            .map_err(|e| format!("This browser's storage cannot be opened: {}", describe(&e)))?;
        let stored = db
            .read_all()
            .await
            .map_err(|e| format!("This browser's storage cannot be read: {}", describe(&e)))?;
        let (engine, effects) = Engine::open(stored, now(), today(), random_peer());
        let rt = Rc::new(Runtime {
            engine: RefCell::new(engine),
            db,
            queue: RefCell::new(VecDeque::new()),
            writing: Cell::new(false),
            socket: RefCell::new(None),
            connected: Cell::new(false),
            access: RefCell::new(None),
            backoff: RefCell::new(Backoff::default()),
            reconnect: RefCell::new(None),
            refresh: RefCell::new(None),
            refreshing: Cell::new(false),
            connecting: Cell::new(false),
            session_ended: Cell::new(false),
            save_error: RefCell::new(None),
            notify: RefCell::new(None),
            revision: Cell::new(0),
        });
        rt.apply(effects);
        rt.load_rest();
        if rt.engine.borrow().account().is_some() {
            rt.connect();
        }
        rt.watch_network();
        Ok(rt)
    }

    /// Who to tell when something changed.
    pub fn set_notify(&self, f: Rc<dyn Fn()>) {
        *self.notify.borrow_mut() = Some(f);
    }

    fn changed(&self) {
        self.revision.set(self.revision.get() + 1);
        let notify = self.notify.borrow().clone();
        if let Some(f) = notify {
            f();
        }
    }

    /// Reads the data the screens show.
    pub fn read<T>(&self, f: impl FnOnce(Option<&UserData>) -> T) -> T {
        f(self.engine.borrow().data())
    }

    /// The Today view for `date`.
    pub fn today_view(&self, date: Date) -> Option<lifeos_core::Result<lifeos_core::today::Today>> {
        self.engine.borrow_mut().today(date)
    }

    /// Groups of likely duplicates (after this device's data joined an account).
    pub fn duplicates(
        &self,
    ) -> Option<lifeos_core::Result<Vec<lifeos_core::user::duplicates::Duplicates>>> {
        self.engine.borrow_mut().duplicates()
    }

    /// Every task (kept incrementally).
    pub fn tasks(&self) -> Option<lifeos_core::Result<Rc<Vec<lifeos_core::tasks::Task>>>> {
        self.engine.borrow_mut().tasks()
    }

    /// Every habit.
    pub fn habits(&self) -> Option<lifeos_core::Result<Rc<Vec<lifeos_core::habits::Habit>>>> {
        self.engine.borrow_mut().habits()
    }

    /// One month's expenses.
    pub fn month_expenses(
        &self,
        month: lifeos_core::time::Month,
    ) -> Option<lifeos_core::Result<Rc<Vec<lifeos_core::finance::Expense>>>> {
        self.engine.borrow_mut().month_expenses(month)
    }

    /// Loads older months in small steps after the first screen, so the
    /// app answers at once and the rest arrives while the user reads.
    fn load_rest(self: &Rc<Self>) {
        let rt = self.clone();
        spawn_local(async move {
            while rt.engine.borrow().has_deferred() {
                gloo_timers::future::sleep(Duration::from_millis(0)).await;
                let effects = rt.engine.borrow_mut().load_deferred(3);
                rt.apply(effects);
            }
            if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
                let _ = p.mark("lifeos-all-loaded");
            }
            rt.changed();
        });
    }

    /// Runs a user action: the documents change, the change is queued for
    /// storage and sent to the relay, and the screens re-render.
    pub fn act<T>(
        self: &Rc<Self>,
        f: impl FnOnce(&mut UserData) -> lifeos_core::Result<T>,
    ) -> lifeos_core::Result<T> {
        let (result, effects) = self.engine.borrow_mut().act(now(), f);
        self.apply(effects);
        self.changed();
        result
    }

    fn apply(self: &Rc<Self>, effects: Effects) {
        if !effects.writes.is_empty() {
            self.queue.borrow_mut().push_back(effects.writes);
            self.drain();
        }
        if let Some(socket) = self.socket.borrow().as_ref() {
            for frame in &effects.sends {
                let _ = socket.ws.send_with_u8_array(frame);
            }
        }
        if let Some(reason) = effects.close {
            web_sys::console::warn_1(&format!("closing sync: {reason}").into());
            self.socket.borrow_mut().take();
            self.closed(None);
        }
    }

    fn drain(self: &Rc<Self>) {
        if self.writing.get() {
            return;
        }
        self.writing.set(true);
        let rt = self.clone();
        spawn_local(async move {
            loop {
                let Some(batch) = rt.queue.borrow_mut().pop_front() else {
                    break;
                };
                match rt.db.write(&batch).await {
                    Ok(()) => {
                        if rt.save_error.borrow_mut().take().is_some() {
                            rt.changed();
                        }
                    }
                    Err(e) => {
                        // Keep the batch and retry: nothing the user did is dropped.
                        rt.queue.borrow_mut().push_front(batch);
                        *rt.save_error.borrow_mut() = Some(format!(
                            "Changes cannot be saved in this browser right now ({}); retrying.",
                            describe(&e)
                        ));
                        rt.changed();
                        gloo_timers::future::sleep(Duration::from_secs(2)).await;
                    }
                }
            }
            rt.writing.set(false);
            rt.changed();
        });
    }

    /// Writes not yet in IndexedDB.
    pub fn pending_writes(&self) -> usize {
        self.queue.borrow().len() + usize::from(self.writing.get())
    }

    /// A storage problem, if saving fails.
    pub fn save_error(&self) -> Option<String> {
        self.save_error.borrow().clone()
    }

    /// Problems found in storage or sync.
    pub fn problems(&self) -> Vec<String> {
        let mut p = self.engine.borrow().problems().to_vec();
        let read_only = self.engine.borrow_mut().read_only_documents();
        if read_only > 0 {
            p.push(format!(
                "{read_only} document(s) were written by a newer LifeOS and are read-only here. Reload to update the app."
            ));
        }
        p
    }

    /// Hides the problems shown.
    pub fn dismiss_problems(&self) {
        self.engine.borrow_mut().dismiss_problems();
        self.changed();
    }

    /// Where sync stands.
    pub fn status(&self) -> SyncStatus {
        self.engine.borrow_mut().status(self.connected.get())
    }

    /// Changes made here that the relay has not confirmed as stored.
    pub fn unconfirmed(&self) -> usize {
        self.engine.borrow_mut().unconfirmed()
    }

    /// The access token, when signed in and connected to the relay.
    pub fn access_token(&self) -> Option<String> {
        self.access.borrow().clone()
    }

    /// Whether the relay ended this session (sign in again to sync).
    pub fn session_ended(&self) -> bool {
        self.session_ended.get()
    }

    /// The signed-in email.
    pub fn email(&self) -> Option<String> {
        self.engine.borrow().account().map(|a| a.email.clone())
    }

    /// This browser's peer id.
    pub fn peer_id(&self) -> String {
        self.engine.borrow().meta().peer_id.clone()
    }

    /// Signs in with a fresh token pair (login or register).
    pub fn signed_in(self: &Rc<Self>, pair: TokenPair) {
        let effects =
            self.engine
                .borrow_mut()
                .sign_in(&pair.user.id, &pair.user.email, &pair.refresh_token);
        self.apply(effects);
        self.session_ended.set(false);
        self.use_pair(&pair);
        self.socket.borrow_mut().take();
        self.backoff.borrow_mut().reset();
        self.connect();
        self.changed();
    }

    fn use_pair(self: &Rc<Self>, pair: &TokenPair) {
        *self.access.borrow_mut() = Some(pair.access_token.clone());
        let effects = self
            .engine
            .borrow_mut()
            .set_refresh_token(&pair.refresh_token);
        self.apply(effects);
        // Refresh a minute before expiry (halfway for short tokens).
        let at = lifeos_core::sync::reconnect::refresh_at(0, pair.expires_in).max(1);
        let rt = self.clone();
        *self.refresh.borrow_mut() = Some(Timeout::new((at * 1000) as u32, move || {
            spawn_local(async move {
                let _ = rt.refresh_token().await;
            });
        }));
    }

    async fn refresh_token(self: &Rc<Self>) -> Result<(), ApiError> {
        if self.refreshing.get() {
            return Ok(());
        }
        let Some(token) = self
            .engine
            .borrow()
            .account()
            .map(|a| a.refresh_token.clone())
        else {
            return Ok(());
        };
        self.refreshing.set(true);
        let result = api::refresh(&token).await;
        self.refreshing.set(false);
        match result {
            Ok(pair) => {
                self.use_pair(&pair);
                Ok(())
            }
            Err(e) => {
                if e.status == 401 {
                    self.session_ended.set(true);
                    *self.access.borrow_mut() = None;
                    self.socket.borrow_mut().take();
                    self.connected.set(false);
                    self.changed();
                }
                Err(e)
            }
        }
    }

    /// Connects to the relay (getting an access token first if needed).
    fn connect(self: &Rc<Self>) {
        if self.session_ended.get() || self.socket.borrow().is_some() || self.connecting.get() {
            return;
        }
        self.reconnect.borrow_mut().take();
        self.connecting.set(true);
        let rt = self.clone();
        spawn_local(async move {
            let opened = rt.open_with_ticket().await;
            rt.connecting.set(false);
            if !opened {
                rt.schedule_reconnect();
            }
        });
    }

    /// Gets a token if needed, trades it for a single-use sync ticket (so the
    /// token never appears in the WebSocket's URL, which consoles and proxy
    /// logs show), and opens the socket. `false` when it should be retried.
    async fn open_with_ticket(self: &Rc<Self>) -> bool {
        if self.access.borrow().is_none() {
            match self.refresh_token().await {
                Ok(()) => {}
                // The session ended: nothing to retry until the user signs in.
                Err(e) if e.status == 401 => return true,
                Err(_) => return false,
            }
        }
        let Some(token) = self.access.borrow().clone() else {
            return true;
        };
        let ticket = match api::sync_ticket(&token).await {
            Ok(ticket) => ticket,
            Err(e) => {
                // The access token expired meanwhile: refresh on the next try
                // (unless a sign-in replaced it while this attempt waited).
                let mut access = self.access.borrow_mut();
                if e.status == 401 && access.as_deref() == Some(token.as_str()) {
                    *access = None;
                }
                return false;
            }
        };
        if self.session_ended.get() || self.socket.borrow().is_some() {
            return true;
        }
        match self.open_socket(&ticket) {
            Ok(()) => true,
            Err(e) => {
                web_sys::console::warn_1(&format!("sync socket: {}", describe(&e)).into());
                false
            }
        }
    }

    fn open_socket(self: &Rc<Self>, ticket: &str) -> Result<(), JsValue> {
        let location = web_sys::window().ok_or("no window")?.location();
        let scheme = if location.protocol()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        let url = format!(
            "{scheme}://{}/api/v1/sync?ticket={ticket}",
            location.host()?
        );
        let ws = WebSocket::new(&url)?;
        ws.set_binary_type(BinaryType::Arraybuffer);

        let weak = Rc::downgrade(self);
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let Some(rt) = weak.upgrade() else { return };
            let join = rt.engine.borrow_mut().socket_opened();
            if let (Some(join), Some(socket)) = (join, rt.socket.borrow().as_ref()) {
                let _ = socket.ws.send_with_u8_array(&join);
            }
        });
        let weak = Rc::downgrade(self);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(rt) = weak.upgrade() else { return };
            let Ok(buffer) = e.data().dyn_into::<js_sys::ArrayBuffer>() else {
                return;
            };
            let frame = js_sys::Uint8Array::new(&buffer).to_vec();
            let was = rt.status();
            let effects = rt.engine.borrow_mut().socket_frame(&frame, now());
            if !rt.connected.get() {
                rt.connected.set(true);
                rt.backoff.borrow_mut().reset();
            }
            let changed = !effects.writes.is_empty() || rt.status() != was;
            rt.apply(effects);
            if changed {
                rt.changed();
            }
        });
        let weak = Rc::downgrade(self);
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            let Some(rt) = weak.upgrade() else { return };
            rt.socket.borrow_mut().take();
            let code = e.code();
            rt.closed((code != 1006 && code != 1005).then_some(code));
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *self.socket.borrow_mut() = Some(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        });
        Ok(())
    }

    fn closed(self: &Rc<Self>, code: Option<u16>) {
        self.connected.set(false);
        self.engine.borrow_mut().socket_closed();
        self.changed();
        match after_close(code) {
            AfterClose::Stop => {}
            AfterClose::RefreshThenReconnect => {
                *self.access.borrow_mut() = None;
                self.schedule_reconnect();
            }
            AfterClose::Reconnect | AfterClose::ReportAndReconnect => self.schedule_reconnect(),
        }
    }

    fn schedule_reconnect(self: &Rc<Self>) {
        if self.session_ended.get() || self.engine.borrow().account().is_none() {
            return;
        }
        let delay = self.backoff.borrow_mut().next_delay(js_sys::Math::random());
        let rt = self.clone();
        *self.reconnect.borrow_mut() = Some(Timeout::new(delay.as_millis() as u32, move || {
            rt.connect();
        }));
    }

    /// Back online: reconnect now instead of waiting out the backoff.
    fn watch_network(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let on_online = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(rt) = weak.upgrade() {
                rt.backoff.borrow_mut().reset();
                rt.connect();
            }
        });
        let weak = Rc::downgrade(self);
        let on_offline = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(rt) = weak.upgrade() {
                // The socket may take long to notice; stop pretending.
                rt.socket.borrow_mut().take();
                rt.closed(None);
            }
        });
        if let Some(w) = web_sys::window() {
            let _ =
                w.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
            let _ =
                w.add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
        }
        // For the life of the page.
        on_online.forget();
        on_offline.forget();
    }

    /// Signs out: ends the session on the relay and deletes this browser's data.
    pub async fn sign_out(self: &Rc<Self>) -> Result<(), String> {
        let token = self
            .engine
            .borrow()
            .account()
            .map(|a| a.refresh_token.clone());
        self.refresh.borrow_mut().take();
        self.reconnect.borrow_mut().take();
        self.socket.borrow_mut().take();
        if let Some(token) = token {
            // Best effort: offline, the token simply expires on the relay.
            let _ = api::logout(&token).await;
        }
        self.queue.borrow_mut().clear();
        self.db.clear().await.map_err(|e| describe(&e))
    }

    /// The user's data as JSON, for the local export.
    pub fn export_json(&self) -> Result<String, String> {
        self.read(|data| {
            let data = data.ok_or("no data yet")?;
            let err = |e: lifeos_core::Error| e.to_string();
            let value = serde_json::json!({
                "format": "lifeos-local-export",
                "version": 1,
                "exported_at": lifeos_core::time::format_timestamp(now()),
                "tasks": data.tasks().map_err(err)?,
                "projects": data.projects().map_err(err)?,
                "habits": data.habits().map_err(err)?,
                "categories": data.categories().map_err(err)?,
                "expenses": data.expenses().map_err(err)?,
            });
            serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
        })
    }

    /// Damaged records kept aside.
    pub async fn quarantined(&self) -> u32 {
        self.db.quarantined().await.unwrap_or(0)
    }
}
