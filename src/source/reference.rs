//! References to secrets in a store (`vault://…`, `aws-sm://…`), as written on the
//! command line or as a dotenv value, and turning what a store returns into
//! variables. The rules here are the same for every store.

use anyhow::Result;

use crate::error::{Failure, Kind, fail};
use crate::escape::Escaped;
use crate::names::is_valid_name;
use crate::secret::{Dates, SecretValue};

mod paths;

/// Which store a reference names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Vault,
    AwsSm,
    AzureKv,
    GcpSm,
}

impl Scheme {
    /// Every scheme, in the order messages list them.
    pub const ALL: [Scheme; 4] = [Scheme::Vault, Scheme::AwsSm, Scheme::AzureKv, Scheme::GcpSm];

    pub fn prefix(self) -> &'static str {
        match self {
            Scheme::Vault => "vault://",
            Scheme::AwsSm => "aws-sm://",
            Scheme::AzureKv => "azure-kv://",
            Scheme::GcpSm => "gcp-sm://",
        }
    }
}

/// `vault://secret/app#KEY?prefix=APP_`: a secret, and what to take from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteRef {
    pub scheme: Scheme,
    /// Vault: `MOUNT/PATH`; AWS: the secret id (name or ARN); Azure: `VAULT/NAME`;
    /// Google: `PROJECT/SECRET`.
    pub path: String,
    pub key: Option<String>,
    pub prefix: Option<String>,
    pub as_name: Option<String>,
    /// Vault KV v2 version; Google's version number (none: `latest`).
    pub version: Option<u64>,
    /// AWS version stage (`AWSPREVIOUS`); AWS and Azure version id.
    pub stage: Option<String>,
    pub version_id: Option<String>,
    /// Keep nested objects as JSON text.
    pub json: bool,
}

/// True when a dotenv value is a reference to be fetched.
pub fn is_reference(value: &str) -> bool {
    Scheme::ALL.iter().any(|s| value.starts_with(s.prefix()))
}

impl RemoteRef {
    /// Parses `scheme://PATH[#KEY][?query]` (the `#` and `?` parts in either order).
    /// `None` when the text names no store scheme.
    pub fn parse(text: &str) -> Option<Result<RemoteRef>> {
        let scheme = Scheme::ALL
            .into_iter()
            .find(|s| text.starts_with(s.prefix()))?;
        Some(
            Self::parse_rest(scheme, &text[scheme.prefix().len()..]).map_err(|why| {
                Failure::new(
                    Kind::Config,
                    format!("`{}` is not a valid source: {why}", Escaped(text)),
                )
                .into()
            }),
        )
    }

    fn parse_rest(scheme: Scheme, rest: &str) -> Result<RemoteRef, String> {
        let end = rest.find(['#', '?']).unwrap_or(rest.len());
        let path = rest[..end].trim_matches('/');
        if path.is_empty() {
            return Err("the path is empty".into());
        }
        let (path, version) = paths::store_path(scheme, path)?;
        let mut r = RemoteRef {
            scheme,
            path,
            key: None,
            prefix: None,
            as_name: None,
            version,
            stage: None,
            version_id: None,
            json: false,
        };
        let mut rest = &rest[end..];
        while !rest.is_empty() {
            let marker = rest.as_bytes()[0];
            let part_end = rest[1..].find(['#', '?']).map_or(rest.len(), |i| i + 1);
            let part = &rest[1..part_end];
            rest = &rest[part_end..];
            if marker == b'#' {
                if part.is_empty() || r.key.is_some() {
                    return Err("`#KEY` must name one key".into());
                }
                r.key = Some(part.to_owned());
                continue;
            }
            for pair in part.split('&').filter(|p| !p.is_empty()) {
                r.option(pair)?;
            }
        }
        if r.prefix.is_some() && r.as_name.is_some() {
            return Err("`prefix` and `as` do not go together".into());
        }
        if r.prefix.is_some() && r.key.is_some() {
            return Err("`prefix` names many keys; with `#KEY` use `as`".into());
        }
        Ok(r)
    }

    /// One `?name=value` option, as this reference's store takes it.
    fn option(&mut self, pair: &str) -> Result<(), String> {
        let r = self;
        let scheme = r.scheme;
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match (name, scheme) {
            ("prefix", _)
                if !value.is_empty()
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                r.prefix = Some(value.to_owned())
            }
            ("as", _) if is_valid_name(value) => r.as_name = Some(value.to_owned()),
            ("json", _) if value.is_empty() || value == "true" => r.json = true,
            ("version", Scheme::Vault) => {
                r.version = Some(value.parse().map_err(|_| "`version` takes a number")?)
            }
            ("stage", Scheme::AwsSm) if !value.is_empty() => r.stage = Some(value.to_owned()),
            ("version-id", Scheme::AwsSm) if !value.is_empty() => {
                r.version_id = Some(value.to_owned())
            }
            ("version", Scheme::GcpSm) if value == "latest" => r.version = None,
            ("version", Scheme::GcpSm) => {
                r.version = Some(
                    value
                        .parse()
                        .map_err(|_| "`version` takes a number or `latest`")?,
                )
            }
            ("version", Scheme::AzureKv)
                if !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                r.version_id = Some(value.to_owned())
            }
            _ => return Err(format!("`{}` is not a known option here", Escaped(pair))),
        }
        Ok(())
    }

    /// The secret it reads, without what it takes from it: `vault://database/creds/app`
    /// of `vault://database/creds/app#password`.
    pub fn secret(&self) -> String {
        format!("{}{}", self.scheme.prefix(), Escaped(&self.path))
    }

    /// Identifies the fetch, so that several references to one secret fetch it once.
    pub fn fetch_key(&self) -> FetchKey {
        FetchKey {
            scheme: self.scheme,
            path: self.path.clone(),
            version: self.version,
            stage: self.stage.clone(),
            version_id: self.version_id.clone(),
        }
    }
}

/// What a fetch reads: a secret and which version of it, without what the
/// reference then takes from the answer (a key, a prefix).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FetchKey {
    scheme: Scheme,
    path: String,
    version: Option<u64>,
    stage: Option<String>,
    version_id: Option<String>,
}

/// The reference as written, with the version it pins (so that "not found" says
/// which version was not), but not how its values are named (`as`, `prefix`).
impl std::fmt::Display for RemoteRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.scheme.prefix(), Escaped(&self.path))?;
        let id_name = match self.scheme {
            Scheme::AzureKv => "version",
            _ => "version-id",
        };
        let pins = [
            self.version.map(|v| ("version", v.to_string())),
            self.stage.clone().map(|s| ("stage", s)),
            self.version_id.clone().map(|id| (id_name, id)),
        ];
        for (i, (name, value)) in pins.into_iter().flatten().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{name}={}", Escaped(&value))?;
        }
        if let Some(key) = &self.key {
            write!(f, "#{}", Escaped(key))?;
        }
        Ok(())
    }
}

/// A store's answer for one secret: what it holds, and what the store recorded of
/// its life.
pub struct Answer {
    pub fetched: Fetched,
    pub dates: Dates,
    /// The lease it was read under (a dynamic secret).
    pub lease: Option<crate::lease::Lease>,
}

/// What a store returned for one secret.
pub enum Fetched {
    /// A JSON object: key → value.
    Object(Vec<(String, serde_json::Value)>),
    /// Plain text (an AWS secret that is not a JSON object).
    Text(SecretValue),
}

impl Drop for Fetched {
    fn drop(&mut self) {
        if let Fetched::Object(map) = self {
            map.iter_mut()
                .for_each(|(_, value)| crate::secret::scrub_json(value));
        }
    }
}

impl Fetched {
    /// Parses a secret string: a JSON object becomes its keys, anything else is text.
    pub fn from_text(text: String) -> Fetched {
        if text.trim_start().starts_with('{')
            && let Ok(mut doc) = crate::secret::SecretJson::parse(text.as_bytes())
            && let serde_json::Value::Object(map) = doc.take()
        {
            // The raw text is not needed any more: zero it on the way out.
            drop(SecretValue::new(text));
            return Fetched::Object(map.into_iter().collect());
        }
        Fetched::Text(SecretValue::new(text))
    }
}

/// Turns a fetched secret into variables. `reference_name` is the variable a dotenv
/// reference (`DB_PASSWORD=vault://…`) assigns; it gets exactly one value.
pub fn to_vars(
    r: &RemoteRef,
    fetched: &Fetched,
    reference_name: Option<&str>,
) -> Result<Vec<(String, SecretValue)>> {
    match (fetched, r.key.as_deref(), reference_name) {
        (Fetched::Text(_), Some(key), _) => fail(
            Kind::Config,
            format!(
                "`{r}` is plain text, not a JSON object: it has no key `{}`",
                Escaped(key)
            ),
        ),
        (Fetched::Text(text), None, Some(name)) => Ok(vec![(name.to_owned(), copy(text))]),
        (Fetched::Text(text), None, None) => match &r.as_name {
            Some(name) => Ok(vec![(name.clone(), copy(text))]),
            None => fail(
                Kind::Config,
                format!("`{r}` is plain text: name its variable with `?as=NAME`"),
            ),
        },
        (Fetched::Object(map), Some(key), name) => one_key(r, map, key, name),
        (Fetched::Object(map), None, Some(name)) => named_by_line(r, map, name),
        (Fetched::Object(map), None, None) => every_key(r, map),
    }
}

/// `#KEY` of an object, named by the dotenv line, `?as=`, or the key itself.
fn one_key(
    r: &RemoteRef,
    map: &[(String, serde_json::Value)],
    key: &str,
    name: Option<&str>,
) -> Result<Vec<(String, SecretValue)>> {
    let Some((_, value)) = map.iter().find(|(k, _)| k == key) else {
        return fail(Kind::Config, format!("`{r}` has no key `{}`", Escaped(key)));
    };
    let name = match name.or(r.as_name.as_deref()) {
        Some(name) => name.to_owned(),
        None if is_valid_name(key) => key.to_owned(),
        None => {
            return fail(
                Kind::Config,
                format!(
                    "`{r}`: `{}` is not a variable name; name it with `?as=NAME`",
                    Escaped(key)
                ),
            );
        }
    };
    Ok(vec![(name, convert(r, key, value)?)])
}

/// An object assigned to one dotenv variable: its key of that name, or its only key.
fn named_by_line(
    r: &RemoteRef,
    map: &[(String, serde_json::Value)],
    name: &str,
) -> Result<Vec<(String, SecretValue)>> {
    let count = map.len();
    let (key, value) = match map.iter().find(|(k, _)| k == name) {
        Some(found) => found,
        None if count == 1 => &map[0],
        None => {
            return fail(
                Kind::Config,
                format!("`{r}` holds {count} keys and none is `{name}`: pick one with `#KEY`"),
            );
        }
    };
    Ok(vec![(name.to_owned(), convert(r, key, value)?)])
}

/// An object from `--from`: its only key as `?as=`, else every key, `?prefix=`ed.
fn every_key(
    r: &RemoteRef,
    map: &[(String, serde_json::Value)],
) -> Result<Vec<(String, SecretValue)>> {
    if let Some(name) = &r.as_name {
        if map.len() != 1 {
            return fail(
                Kind::Config,
                format!("`{r}` holds {} keys: `as` needs `#KEY`", map.len()),
            );
        }
        let (key, value) = &map[0];
        return Ok(vec![(name.clone(), convert(r, key, value)?)]);
    }
    let prefix = r.prefix.as_deref().unwrap_or("");
    let mut vars = Vec::with_capacity(map.len());
    for (key, value) in map {
        let name = format!("{prefix}{key}");
        if !is_valid_name(&name) {
            return fail(
                Kind::Config,
                format!(
                    "`{r}`: key `{}` is not a variable name; pick it with `#KEY` and `?as=NAME`",
                    Escaped(key)
                ),
            );
        }
        vars.push((name, convert(r, key, value)?));
    }
    Ok(vars)
}

fn copy(value: &SecretValue) -> SecretValue {
    SecretValue::new(value.expose().to_owned())
}

/// A JSON value's text, written into a string of exactly its length: no block of
/// a growing string is left behind holding part of it.
fn json_text(value: &serde_json::Value) -> String {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` to memory cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    let mut text = Vec::with_capacity(count.0);
    let _ = serde_json::to_writer(&mut text, value);
    // serde_json writes UTF-8.
    String::from_utf8(text).unwrap_or_default()
}

/// Strings stay, numbers and booleans become their text, nested values are errors
/// unless `?json`.
fn convert(r: &RemoteRef, key: &str, value: &serde_json::Value) -> Result<SecretValue> {
    use serde_json::Value;
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(_) | Value::Bool(_) => json_text(value),
        Value::Null => {
            return fail(
                Kind::Config,
                format!("`{r}`: key `{}` is null", Escaped(key)),
            );
        }
        nested if r.json => json_text(nested),
        _ => {
            return fail(
                Kind::Config,
                format!(
                    "`{r}`: key `{}` holds a nested object or list; pick a string key, or add `?json` to keep it as JSON text",
                    Escaped(key)
                ),
            );
        }
    };
    if text.contains('\0') {
        return fail(
            Kind::Invalid,
            format!("`{r}`: key `{}` holds a NUL byte", Escaped(key)),
        );
    }
    Ok(SecretValue::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A secret string (AWS's), parsed and taken apart into variables and dropped,
    /// leaves no value in freed memory, as text and as a JSON object.
    #[test]
    fn a_secret_string_leaves_no_value_in_freed_memory() {
        use crate::freed::{MARK, count};
        let object = format!(r#"{{"A":"{MARK}-a","B":12345,"N":{{"x":"{MARK}-n"}}}}"#);
        let text = format!("{MARK}-text");
        // Made before counting: `format!` leaves blocks of its own as it grows.
        let inputs = vec![(object, "aws-sm://app?json"), (text, "aws-sm://app?as=T")];
        let leaked = count(|| {
            for (text, reference) in inputs {
                let fetched = Fetched::from_text(text);
                drop(to_vars(&parse(reference), &fetched, None));
            }
        });
        assert_eq!(leaked, 0);
    }

    fn parse(text: &str) -> RemoteRef {
        RemoteRef::parse(text).unwrap().unwrap()
    }

    fn names(vars: &[(String, SecretValue)]) -> Vec<(&str, &str)> {
        vars.iter().map(|(n, v)| (n.as_str(), v.expose())).collect()
    }

    fn object(value: serde_json::Value) -> Fetched {
        Fetched::Object(value.as_object().unwrap().clone().into_iter().collect())
    }

    #[test]
    fn parses_keys_and_options_in_either_order() {
        let r = parse("vault://secret/app#password?version=3");
        assert_eq!(
            (r.path.as_str(), r.key.as_deref(), r.version),
            ("secret/app", Some("password"), Some(3))
        );
        let r = parse("vault://secret/app?version=3#password");
        assert_eq!((r.key.as_deref(), r.version), (Some("password"), Some(3)));
        let r = parse(
            "aws-sm://arn:aws:secretsmanager:eu-west-1:1:secret:prod/x-AbC?stage=AWSPREVIOUS&prefix=X_",
        );
        assert_eq!(
            r.path,
            "arn:aws:secretsmanager:eu-west-1:1:secret:prod/x-AbC"
        );
        assert_eq!(
            (r.stage.as_deref(), r.prefix.as_deref()),
            (Some("AWSPREVIOUS"), Some("X_"))
        );
        assert!(RemoteRef::parse("./.env").is_none());
        for bad in [
            "vault://",
            "vault://a?bogus=1",
            "vault://a?stage=X",
            "aws-sm://a?version=1",
            "vault://a?prefix=A_&as=B",
            "vault://a#k?prefix=P_",
            "vault://a?as=1X",
        ] {
            assert!(RemoteRef::parse(bad).unwrap().is_err(), "{bad}");
        }
    }

    #[test]
    fn vault_paths_cannot_climb_to_other_endpoints() {
        for bad in [
            "vault://secret/../auth/token/lookup-self",
            "vault://secret/./x",
            "vault://secret//x",
            "vault://secret/%2e%2e/auth/token/lookup-self",
            "vault://secret\\..\\auth/token/lookup-self",
            "vault://secret/a\tb",
        ] {
            assert!(RemoteRef::parse(bad).unwrap().is_err(), "{bad}");
        }
        assert!(
            RemoteRef::parse("vault://secret/my.app/db-1")
                .unwrap()
                .is_ok()
        );
    }

    #[test]
    fn objects_expand_with_prefix_and_convert_scalars() {
        let r = parse("vault://secret/app?prefix=APP_");
        let vars = to_vars(&r, &object(json!({"A": "x", "N": 3, "B": true})), None).unwrap();
        assert_eq!(
            names(&vars),
            [("APP_A", "x"), ("APP_B", "true"), ("APP_N", "3")]
        );
    }

    #[test]
    fn key_as_and_references() {
        let r = parse("vault://secret/app#db-pass?as=DB");
        assert_eq!(
            names(&to_vars(&r, &object(json!({"db-pass": "p"})), None).unwrap()),
            [("DB", "p")]
        );
        let r = parse("vault://secret/app#db-pass");
        assert!(to_vars(&r, &object(json!({"db-pass": "p"})), None).is_err());
        assert_eq!(
            names(&to_vars(&r, &object(json!({"db-pass": "p"})), Some("X")).unwrap()),
            [("X", "p")]
        );
        let r = parse("vault://secret/db");
        assert_eq!(
            names(&to_vars(&r, &object(json!({"only": "p"})), Some("X")).unwrap()),
            [("X", "p")]
        );
        assert_eq!(
            names(&to_vars(&r, &object(json!({"X": "a", "Y": "b"})), Some("X")).unwrap()),
            [("X", "a")]
        );
        assert!(to_vars(&r, &object(json!({"A": "a", "B": "b"})), Some("X")).is_err());
    }

    #[test]
    fn plain_text_needs_a_name() {
        let r = parse("aws-sm://plain");
        assert!(to_vars(&r, &Fetched::from_text("v".into()), None).is_err());
        let r = parse("aws-sm://plain?as=P");
        assert_eq!(
            names(&to_vars(&r, &Fetched::from_text("v".into()), None).unwrap()),
            [("P", "v")]
        );
    }

    #[test]
    fn nested_values_and_missing_keys_are_errors_naming_the_key() {
        let r = parse("vault://secret/app");
        let err = to_vars(&r, &object(json!({"obj": {"a": "SECRETVALUE"}})), None).unwrap_err();
        assert!(err.to_string().contains("`obj`") && !err.to_string().contains("SECRETVALUE"));
        let r = parse("vault://secret/app?json");
        assert_eq!(
            names(&to_vars(&r, &object(json!({"obj": {"a": 1}})), None).unwrap()),
            [("obj", "{\"a\":1}")]
        );
        let r = parse("vault://secret/app#nope");
        assert!(
            to_vars(&r, &object(json!({"a": "b"})), None)
                .unwrap_err()
                .to_string()
                .contains("no key `nope`")
        );
        let r = parse("vault://secret/app");
        assert!(to_vars(&r, &object(json!({"bad-name": "b"})), None).is_err());
        assert!(to_vars(&r, &object(json!({"n": null})), None).is_err());
    }
}
