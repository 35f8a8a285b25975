//! Fractional positions: strings that sort between any two others, so an item
//! can be placed or moved by writing one field, without list operations.
//!
//! Two devices inserting at the same place may pick the same position; ties
//! are broken by the item's id, so every device shows the same order.
//! Positions use the digits `0-9a-z` and never end in `0`, which guarantees
//! there is always room before any position.

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const BASE: u32 = 36;

fn digit(c: u8) -> u32 {
    DIGITS.iter().position(|d| *d == c).map_or(0, |p| p as u32)
}

/// A position strictly between `before` and `after` (either may be absent:
/// the start or the end of the list). `before` must sort below `after`.
pub fn between(before: Option<&str>, after: Option<&str>) -> String {
    let a = before.unwrap_or("").as_bytes();
    let mut b = after.map(str::as_bytes);
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let da = a.get(i).map_or(0, |c| digit(*c));
        let db = b.and_then(|b| b.get(i)).map_or(BASE, |c| digit(*c));
        if da == db {
            out.push(DIGITS[da as usize]);
        } else {
            let mid = (da + db) / 2;
            if mid > da {
                out.push(DIGITS[mid as usize]);
                break;
            }
            // Adjacent digits: keep `a`'s and find room after it, unbounded above.
            out.push(DIGITS[da as usize]);
            b = None;
        }
        i += 1;
    }
    String::from_utf8(out).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn simple_cases() {
        assert_eq!(between(None, None), "i");
        assert!(between(Some("i"), None).as_str() > "i");
        assert!(between(None, Some("1")).as_str() < "1");
        let m = between(Some("a"), Some("b"));
        assert!("a" < m.as_str() && m.as_str() < "b");
        let m = between(Some("az"), Some("b"));
        assert!("az" < m.as_str() && m.as_str() < "b", "{m}");
    }

    proptest! {
        #[test]
        fn always_strictly_between(ops in proptest::collection::vec((any::<bool>(), any::<prop::sample::Index>()), 1..200)) {
            // Build a list by inserting at random places; it must stay strictly ordered.
            let mut list: Vec<String> = Vec::new();
            for (at_end, idx) in ops {
                let i = if at_end { list.len() } else { idx.index(list.len() + 1) };
                let before = if i == 0 { None } else { Some(list[i - 1].as_str()) };
                let after = list.get(i).map(String::as_str);
                let p = between(before, after);
                prop_assert!(!p.ends_with('0'));
                if let Some(b) = before { prop_assert!(b < p.as_str()); }
                if let Some(a) = after { prop_assert!(p.as_str() < a); }
                list.insert(i, p);
            }
            prop_assert!(list.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
