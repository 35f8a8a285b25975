//! Small pieces the screens share: form helpers, formatting, a virtual list.

use lifeos_core::time::{Date, Weekday, format_date};
use lifeos_core::{Error, Money};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// The days of the week, Monday first.
pub const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// What the user is typing into fields that show stored data, until each
/// field saves it (its `change` event). yew sets a field's value on every
/// render in which the page's value differs from the rendered one, so a
/// field rendered from the document alone lost what was being typed
/// whenever something else re-rendered the screen (a change arriving from
/// another device, the sync status changing). With drafts, a field renders
/// what is typed until it is saved. One per component, any number of fields.
#[derive(Clone)]
pub struct Drafts(UseReducerHandle<DraftMap>);

/// The drafts of one component, by field.
#[derive(Default, PartialEq)]
pub struct DraftMap(std::collections::BTreeMap<String, String>);

/// A draft typed, or a field saved.
pub enum DraftAction {
    Typed(String, String),
    Saved(String),
}

impl Reducible for DraftMap {
    type Action = DraftAction;

    fn reduce(self: std::rc::Rc<Self>, action: DraftAction) -> std::rc::Rc<Self> {
        let mut drafts = self.0.clone();
        match action {
            DraftAction::Typed(field, text) => {
                drafts.insert(field, text);
            }
            DraftAction::Saved(field) => {
                drafts.remove(&field);
            }
        }
        std::rc::Rc::new(DraftMap(drafts))
    }
}

impl Drafts {
    /// What field `field` shows: its draft while there is one, else `stored`.
    pub fn show(&self, field: &str, stored: String) -> String {
        self.0.0.get(field).cloned().unwrap_or(stored)
    }

    /// Keeps what is typed into `field` (its `oninput`; an input or a textarea).
    pub fn oninput(&self, field: &str) -> Callback<InputEvent> {
        let drafts = self.0.clone();
        let field = field.to_string();
        Callback::from(move |e: InputEvent| {
            let text = match e.target_dyn_into::<HtmlTextAreaElement>() {
                Some(area) => area.value(),
                None => input_value(&e),
            };
            drafts.dispatch(DraftAction::Typed(field.clone(), text));
        })
    }

    /// `field` was saved (or given up): it shows the stored value again.
    pub fn saved(&self, field: &str) {
        self.0.dispatch(DraftAction::Saved(field.to_string()));
    }
}

/// The drafts of a component's fields (see [`Drafts`]).
#[hook]
pub fn use_drafts() -> Drafts {
    Drafts(use_reducer(DraftMap::default))
}

/// The value of the input an event came from.
pub fn input_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlInputElement>().value()
}

/// Whether the checkbox an event came from is checked.
pub fn checked(e: &Event) -> bool {
    e.target_unchecked_into::<HtmlInputElement>().checked()
}

/// The value of the select an event came from.
pub fn select_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlSelectElement>().value()
}

/// The value of the textarea an event came from.
pub fn textarea_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlTextAreaElement>().value()
}

/// A core error in words for the user.
pub fn explain(e: &Error) -> String {
    match e {
        Error::Invalid { field, reason } => format!("{}: {reason}", field_name(field)),
        Error::NotFound { kind, .. } => format!("That {kind} no longer exists (deleted on another device?)."),
        Error::SchemaTooNew { .. } => {
            "This data was written by a newer LifeOS and is read-only here. Reload to update the app.".into()
        }
        other => other.to_string(),
    }
}

fn field_name(field: &str) -> String {
    let mut s = field.replace('_', " ");
    if let Some(first) = s.get(0..1) {
        let upper = first.to_uppercase();
        s.replace_range(0..1, &upper);
    }
    s
}

/// A date as the inputs show it (`YYYY-MM-DD`).
pub fn date(d: Date) -> String {
    format_date(d)
}

/// A short human date: "Today", "Tomorrow", "Mon 30 Nov".
pub fn human_date(d: Date, today: Date) -> String {
    let diff = (d - today).num_days();
    match diff {
        0 => "Today".into(),
        1 => "Tomorrow".into(),
        -1 => "Yesterday".into(),
        _ => d.format("%a %-d %b %Y").to_string(),
    }
}

/// An amount with its currency.
pub fn money(m: Money) -> String {
    format!("{} {}", m.decimal(), m.currency.code())
}

/// Props of [`VirtualList`].
#[derive(Properties, PartialEq)]
pub struct VirtualListProps {
    /// Number of rows.
    pub len: usize,
    /// Height of every row in pixels.
    pub row_height: u32,
    /// Renders row `i`.
    pub render: Callback<usize, Html>,
    /// Accessible name of the list.
    pub label: AttrValue,
    /// Tallest the list may be before it scrolls.
    #[prop_or(640)]
    pub max_height: u32,
}

/// A list that renders only the rows in view, so ten thousand tasks cost what twenty do.
#[function_component]
pub fn VirtualList(props: &VirtualListProps) -> Html {
    let scroll = use_state(|| 0u32);
    let onscroll = {
        let scroll = scroll.clone();
        Callback::from(move |e: Event| {
            let el: web_sys::Element = e.target_unchecked_into();
            scroll.set(el.scroll_top().max(0) as u32);
        })
    };
    let row = props.row_height.max(1);
    let total = props.len as u32 * row;
    let height = total.min(props.max_height);
    let first = (*scroll / row).saturating_sub(4) as usize;
    let visible = (height / row) as usize + 10;
    let last = (first + visible).min(props.len);
    let rows = (first..last).map(|i| {
        html! {
            <VirtualRow key={i} top={i as u32 * row} height={row} setsize={props.len} posinset={i + 1}>
                { props.render.emit(i) }
            </VirtualRow>
        }
    });
    let list = use_node_ref();
    let space = use_node_ref();
    use_pixel_styles(&list, &[("height", height)]);
    use_pixel_styles(&space, &[("height", total)]);
    html! {
        <div class="vlist" ref={list} onscroll={onscroll} role="list" aria-label={props.label.clone()} tabindex="0">
            <div class="vspace" ref={space}>{ for rows }</div>
        </div>
    }
}

/// Props of [`VirtualRow`].
#[derive(Properties, PartialEq)]
struct VirtualRowProps {
    top: u32,
    height: u32,
    setsize: usize,
    posinset: usize,
    children: Html,
}

/// One positioned row of a [`VirtualList`].
#[function_component]
fn VirtualRow(props: &VirtualRowProps) -> Html {
    let node = use_node_ref();
    use_pixel_styles(&node, &[("top", props.top), ("height", props.height)]);
    html! {
        <div class="vrow" ref={node} role="listitem" aria-setsize={props.setsize.to_string()} aria-posinset={props.posinset.to_string()}>
            { props.children.clone() }
        </div>
    }
}

/// Sets CSS lengths in pixels on `node` through the CSSOM after each render
/// that changes them. Not a `style` attribute: the relay's
/// Content-Security-Policy (`style-src 'self'`) refuses inline style
/// attributes, and setting properties through the CSSOM is not one.
#[hook]
fn use_pixel_styles(node: &NodeRef, styles: &[(&'static str, u32)]) {
    let node = node.clone();
    use_effect_with(styles.to_vec(), move |styles| {
        if let Some(el) = node.cast::<web_sys::HtmlElement>() {
            let style = el.style();
            for (name, px) in styles {
                let _ = style.set_property(name, &format!("{px}px"));
            }
        }
    });
}
