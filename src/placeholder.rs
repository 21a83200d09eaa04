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

pub fn is_placeholder(value: &str) -> bool {
    let lower = value.trim().to_ascii_lowercase();
    if WHOLE.contains(&lower.as_str()) || MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    if lower.starts_with('<') && lower.ends_with('>') {
        return true;
    }
    // `xxx`, `sk_live_xxxxxxxx`: after any prefix, only x's and separators.
    let tail = lower.rsplit(['_', '-', '.', ':']).next().unwrap_or(&lower);
    tail.len() >= 3 && tail.bytes().all(|b| b == b'x')
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
