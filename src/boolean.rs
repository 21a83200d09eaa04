//! Booleans as people write them in settings and values. A leaf.

/// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, in any case.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}
