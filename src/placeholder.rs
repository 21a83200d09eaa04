//! Values copied from documentation instead of a real secret: `changeme`,
//! `your-django-secret-key`, `sk_live_YOUR_NEW_SECRET_KEY`, `<token>`, `xxx`. A leaf
//! module, used by validation and by the scanner.

/// Words that, anywhere in a value, mark it as a placeholder.
const MARKERS: &[&str] = &[
    "your-",
    "your_",
    "yoursecret",
    "yourkey",
    "changeme",
    "change-me",
    "change_me",
    "replace_me",
    "replace-me",
    "replaceme",
    "placeholder",
    "insert-",
    "insert_",
    "-here",
    "_here",
];

/// Whole values that are placeholders.
const WHOLE: &[&str] = &[
    "todo", "tbd", "fixme", "secret", "password", "none", "null", "...",
];

/// Whether `value` looks copied from documentation. ASCII letters match in either
/// case. One pass over the bytes and no copy: every dotenv value of a launch is
/// asked (bench/launch.sh), where lowercasing a copy and searching it once per marker
/// cost several times more.
pub fn is_placeholder(value: &str) -> bool {
    let value = value.trim().as_bytes();
    WHOLE
        .iter()
        .any(|whole| value.eq_ignore_ascii_case(whole.as_bytes()))
        || value.first() == Some(&b'<') && value.last() == Some(&b'>')
        || only_xs_at_the_end(value)
        || value
            .iter()
            .enumerate()
            .any(|(at, &byte)| MARKERS_STARTING[usize::from(byte)] != 0 && marker_at(&value[at..]))
}

/// `xxx`, `sk_live_xxxxxxxx`: three x's or more, after the last separator.
fn only_xs_at_the_end(value: &[u8]) -> bool {
    let xs = value
        .iter()
        .rev()
        .take_while(|b| b.eq_ignore_ascii_case(&b'x'))
        .count();
    xs >= 3 && (xs == value.len() || b"_-.:".contains(&value[value.len() - xs - 1]))
}

/// For each byte, the markers that start with it in either case, as bits of their
/// indexes in [`MARKERS`].
const MARKERS_STARTING: [u16; 256] = {
    assert!(MARKERS.len() <= 16);
    let mut table = [0; 256];
    let mut i = 0;
    while i < MARKERS.len() {
        let first = MARKERS[i].as_bytes()[0];
        table[first as usize] |= 1 << i;
        table[first.to_ascii_uppercase() as usize] |= 1 << i;
        i += 1;
    }
    table
};

/// Whether a marker starts at `text[0]`, in either case.
fn marker_at(text: &[u8]) -> bool {
    let mut markers = MARKERS_STARTING[usize::from(text[0])];
    while markers != 0 {
        let marker = MARKERS[markers.trailing_zeros() as usize].as_bytes();
        if text.len() >= marker.len() && text[..marker.len()].eq_ignore_ascii_case(marker) {
            return true;
        }
        markers &= markers - 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        for value in [
            "your-django-secret-key",
            "sk_live_YOUR_NEW_SECRET_KEY",
            "changeme",
            "CHANGE_ME",
            "xxx",
            "sk_test_xxxxxxxxxxxx",
            "<your token>",
            "<token>",
            "TODO",
            "REPLACE_ME",
            "your-api-key-here",
            "put-key-here",
        ] {
            assert!(is_placeholder(value), "missed {value}");
        }
    }

    /// The first way this was written: lowercase a copy, search it for each marker.
    fn lowercased(value: &str) -> bool {
        let lower = value.trim().to_ascii_lowercase();
        if WHOLE.contains(&lower.as_str()) || MARKERS.iter().any(|m| lower.contains(m)) {
            return true;
        }
        if lower.starts_with('<') && lower.ends_with('>') {
            return true;
        }
        let tail = lower.rsplit(['_', '-', '.', ':']).next().unwrap_or(&lower);
        tail.len() >= 3 && tail.bytes().all(|b| b == b'x')
    }

    /// The one-pass check answers as the lowercased copy did, on every string of
    /// one to three pieces: markers, whole words, their parts, separators, x's,
    /// brackets, spaces and non-ASCII letters, as written and in upper case.
    #[test]
    fn one_pass_answers_as_the_lowercased_copy() {
        let mut pieces: Vec<String> = MARKERS.iter().chain(WHOLE).map(|s| s.to_string()).collect();
        for extra in [
            "<", ">", "x", "X", "xx", "_", "-", ".", ":", " ", "\t", "a", "yo", "ur-", "ch",
            "ange", "here", "Ins", "sk_live_", "é", "ÿx", "İ", "K", "",
        ] {
            pieces.push(extra.to_owned());
        }
        let upper: Vec<String> = pieces.iter().map(|p| p.to_uppercase()).collect();
        pieces.extend(upper);
        let (mut checked, mut placeholders) = (0, 0);
        for a in &pieces {
            for b in &pieces {
                for c in ["", "x", "-here", "Y", "é", " >", "xxx"] {
                    let value = format!("{a}{b}{c}");
                    let expected = lowercased(&value);
                    assert_eq!(is_placeholder(&value), expected, "{value:?}");
                    checked += 1;
                    placeholders += usize::from(expected);
                }
            }
        }
        assert!(
            placeholders > 1000 && checked - placeholders > 1000,
            "{placeholders}/{checked}"
        );
    }

    #[test]
    fn real_looking_values_are_not_placeholders() {
        for value in [
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "postgres://u:p@h/db",
            "k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8o9p0z1x2c3v4b5n6m7",
            "0.15",
            "true",
            "box",
            "maxx",
        ] {
            assert!(!is_placeholder(value), "false positive {value}");
        }
    }
}
