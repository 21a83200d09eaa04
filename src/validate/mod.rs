//! Validation before launch: the schema of `secretrun.toml` (required, format,
//! pattern, bounds, one_of) and the built-in detectors (what a value is, live or
//! test) produce one [`Report`] holding every failure at once.

pub mod exposure;
pub mod formats;
pub mod probe;
pub mod rotation;
mod schema;

pub use schema::{Deliver, Pattern, VarSpec};

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::detectors::{Detector, Mode, Provider, detect};
use crate::env::{ChildEnv, Var};
use crate::placeholder::is_placeholder;
use crate::timestamp::Seconds;
use rotation::Severity;

/// One problem, about one or more variables. The message names them and never holds
/// a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub names: Vec<String>,
    pub message: String,
}

/// What validation found.
#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// Keys whose provider could not be asked (`check --probe`): not verified, so
    /// `check` neither says "ok" nor exits 0.
    pub unprobed: usize,
    /// What each recognised value is.
    pub detected: BTreeMap<String, &'static Detector>,
    /// How old each value from a source is, against its rules.
    pub rotation: BTreeMap<String, rotation::Age>,
    /// Whether any `max_age` rule applies (the report then shows ages).
    pub ages_asked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warning,
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Error => "error",
        }
    }
}

impl Report {
    fn error(&mut self, name: &str, message: String) {
        self.errors.push(Finding {
            names: vec![name.to_owned()],
            message,
        });
    }

    fn warning(&mut self, name: &str, message: String) {
        self.warnings.push(Finding {
            names: vec![name.to_owned()],
            message,
        });
    }

    /// The exit status `check` leaves with: 65 with errors, else 69 when a key could
    /// not be probed (not verified), else 0. The summary and JSON `ok` follow it.
    pub fn exit_status(&self) -> u8 {
        if !self.errors.is_empty() {
            crate::error::Kind::Invalid.exit_code()
        } else if self.unprobed > 0 {
            crate::error::Kind::Unreachable.exit_code()
        } else {
            0
        }
    }

    pub fn verdict(&self, name: &str) -> Verdict {
        let about = |f: &Finding| f.names.iter().any(|n| n == name);
        if self.errors.iter().any(about) {
            Verdict::Error
        } else if self.warnings.iter().any(about) {
            Verdict::Warning
        } else {
            Verdict::Ok
        }
    }
}

/// What the values must be: the schema, the names that must be present, and the
/// kind of keys this deployment uses.
#[derive(Debug, Default)]
pub struct Rules {
    pub vars: BTreeMap<String, VarSpec>,
    /// Names that must be present and non-empty, from `--require` and `required = true`.
    pub require: Vec<String>,
    /// Which kind of provider keys this deployment must use.
    pub expect: Option<Mode>,
    /// `max_age` for every variable, the expiry window, and strictness.
    pub rotation: rotation::Policy,
}

pub fn validate(env: &ChildEnv, config: &Rules) -> Report {
    let mut report = Report::default();
    let default_spec = VarSpec::default();
    let mut names: Vec<&str> = config.vars.keys().map(String::as_str).collect();
    names.extend(config.require.iter().map(String::as_str));
    names.sort();
    names.dedup();
    let not_read = |name: &str| env.get(name).is_some_and(|var| var.dates.not_read());
    for &name in &names {
        if not_read(name) {
            continue;
        }
        let spec = config.vars.get(name).unwrap_or(&default_spec);
        let required = config.require.iter().any(|r| r == name);
        let value = env
            .get(name)
            .map(|var| var.value.as_os_str().to_string_lossy());
        check_schema(&mut report, name, spec, required, value.as_deref());
    }

    report_not_read(&mut report, env);
    for var in env.vars.iter().filter(|var| !var.dates.not_read()) {
        let in_schema = names.binary_search(&var.name.as_str()).is_ok();
        check_value(&mut report, var, in_schema, config.expect);
    }
    check_mixed_modes(&mut report);
    check_rotation(&mut report, env, config, crate::timestamp::now());
    report
}

/// The checks of one value the command would get: a placeholder, a development key,
/// a variable that changes how programs load, and a provider key of the wrong mode.
fn check_value(report: &mut Report, var: &Var, in_schema: bool, expect: Option<Mode>) {
    let value: Cow<str> = var.value.as_os_str().to_string_lossy();
    if !in_schema && !value.is_empty() && is_placeholder(&value) {
        report.warning(
            &var.name,
            format!("`{}` looks like a placeholder, not a real value", var.name),
        );
    }
    if value.starts_with("django-insecure-") {
        let message = format!(
            "`{}` is a Django `django-insecure-` development key",
            var.name
        );
        if expect == Some(Mode::Live) {
            report.error(&var.name, format!("{message}, but live keys are expected"));
        } else {
            report.warning(&var.name, message);
        }
    }
    if let Some(weakness) = weak_url_password(&value) {
        let message = format!("`{}` is a URL with a weak password: {weakness}", var.name);
        match expect == Some(Mode::Live) {
            true => report.error(
                &var.name,
                format!("{message}, and live values are expected"),
            ),
            false => report.warning(&var.name, message),
        }
    }
    if var.origin != crate::secret::Origin::Parent && is_hijack(&var.name) {
        report.warning(
            &var.name,
            format!(
                "`{}` comes from `{}` and changes how the command and every program it \
                 starts is loaded or interpreted; if you mean it, set it yourself and pass \
                 it with --keep",
                var.name, var.origin
            ),
        );
    }
    let Some(detector) = detect(&value) else {
        return;
    };
    report.detected.insert(var.name.clone(), detector);
    let Some(mode) = detector.mode else { return };
    let what = format!(
        "`{}` holds a {mode} {} {}",
        var.name, detector.provider, detector.kind
    );
    match expect {
        Some(expected) if expected != mode => {
            report.error(
                &var.name,
                format!("{what}, but {expected} keys are expected"),
            );
        }
        None if mode == Mode::Live => report.warning(&var.name, what),
        _ => {}
    }
}

/// Passwords every scanner tries first: the defaults of databases, queues and
/// tutorials.
const WEAK_PASSWORDS: &[&str] = &[
    "password",
    "passw0rd",
    "postgres",
    "mysql",
    "root",
    "admin",
    "changeme",
    "change_me",
    "secret",
    "default",
    "guest",
    "test",
    "example",
    "letmein",
    "123456",
    "12345678",
    "qwerty",
    "pass",
    "redis",
    "rabbitmq",
    "mongo",
    "oracle",
    "toor",
];

/// What is weak about a URL's password, if anything: a well-known default, or the
/// user name repeated (never the password itself: it is only named by kind).
fn weak_url_password(value: &str) -> Option<&'static str> {
    let (user, password) = crate::secrecy::url_credentials(value)?;
    let lower = password.to_ascii_lowercase();
    if WEAK_PASSWORDS.contains(&lower.as_str()) {
        return Some("a well-known default, the first anyone tries");
    }
    (!password.is_empty() && password == user).then_some("the user name repeated")
}

/// Values of dynamic secrets that were not read (a read creates credentials): one
/// warning names them all, since nothing about them was checked.
fn report_not_read(report: &mut Report, env: &ChildEnv) {
    let names: Vec<String> = env
        .vars
        .iter()
        .filter(|var| var.dates.not_read())
        .map(|var| var.name.clone())
        .collect();
    if names.is_empty() {
        return;
    }
    let shown: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    report.warnings.push(Finding {
        message: format!(
            "{} come{} from dynamic secrets, not read because a read creates credentials: \
             `--read-dynamic` reads them and revokes the lease before exiting",
            shown.join(", "),
            if names.len() == 1 { "s" } else { "" }
        ),
        names,
    });
}

/// Each value from a source against its `max_age` (its own, else the default) and
/// its recorded expiry.
fn check_rotation(report: &mut Report, env: &ChildEnv, config: &Rules, now: Seconds) {
    report.ages_asked =
        config.rotation.max_age.is_some() || config.vars.values().any(|v| v.max_age.is_some());
    for var in &env.vars {
        if var.origin == crate::secret::Origin::Parent {
            continue;
        }
        let max_age = config
            .vars
            .get(&var.name)
            .and_then(|spec| spec.max_age)
            .or(config.rotation.max_age);
        let (age, finding) = rotation::judge(&var.name, var.dates, max_age, &config.rotation, now);
        match finding {
            Some((Severity::Error, message)) => report.error(&var.name, message),
            Some((Severity::Warning, message)) => report.warning(&var.name, message),
            None => {}
        }
        report.rotation.insert(var.name.clone(), age);
    }
}

fn check_schema(
    report: &mut Report,
    name: &str,
    spec: &VarSpec,
    required: bool,
    value: Option<&str>,
) {
    let Some(value) = value else {
        if required {
            report.error(name, format!("`{name}` is required but missing"));
        }
        return;
    };
    if value.is_empty() {
        if spec.allow_empty {
            return;
        }
        if required {
            report.error(name, format!("`{name}` is required but empty"));
        } else if spec.has_constraints() {
            report.error(name, format!("`{name}` is empty"));
        }
        return;
    }
    if is_placeholder(value) {
        let message = format!("`{name}` holds a placeholder, not a real value");
        if required {
            report.error(name, message);
        } else {
            report.warning(name, message);
        }
        return;
    }
    // A value already reported as not a number is not reported again by min/max.
    let mut not_a_number = false;
    if let Some(format) = spec.format
        && let Err(why) = format.check(value)
    {
        not_a_number = format.is_numeric();
        report.error(name, format!("`{name}` {why}"));
    }
    if let Some(pattern) = &spec.pattern
        && !pattern.is_match(value)
    {
        report.error(
            name,
            format!("`{name}` does not match the pattern `{}`", pattern.source()),
        );
    }
    check_range(report, name, spec, value, not_a_number);
    if let Some(min_length) = spec.min_length
        && value.chars().count() < min_length
    {
        report.error(
            name,
            format!("`{name}` is shorter than {min_length} characters"),
        );
    }
    if let Some(allowed) = &spec.one_of
        && !allowed.iter().any(|a| a == value)
    {
        let list: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
        report.error(name, format!("`{name}` is not one of {}", list.join(", ")));
    }
}

/// `min` and `max`; a value already reported as not a number is not reported again.
fn check_range(report: &mut Report, name: &str, spec: &VarSpec, value: &str, not_a_number: bool) {
    if spec.min.is_none() && spec.max.is_none() {
        return;
    }
    match value.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => {
            if let Some(min) = spec.min
                && n < min
            {
                report.error(name, format!("`{name}` is below the minimum of {min}"));
            }
            if let Some(max) = spec.max
                && n > max
            {
                report.error(name, format!("`{name}` is above the maximum of {max}"));
            }
        }
        _ if not_a_number => {}
        _ => report.error(name, format!("`{name}` is not a number")),
    }
}

/// Variables that take over what a program loads or runs (the dynamic loader, shells,
/// interpreters and runtimes, PATH): from a file or a store they are a way for
/// whoever wrote it to run code in every process the command starts.
const HIJACK: &[&str] = &[
    "PATH",
    "BASH_ENV",
    "ENV",
    "PROMPT_COMMAND",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "IFS",
    "GCONV_PATH",
    "LOCPATH",
    "NLSPATH",
    "HOSTALIASES",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "PYTHONUSERBASE",
    "PERL5LIB",
    "PERLLIB",
    "PERL5OPT",
    "PERL5DB",
    "RUBYLIB",
    "RUBYOPT",
    "NODE_OPTIONS",
    "NODE_PATH",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "GIT_SSH_COMMAND",
    "GIT_EXEC_PATH",
];

/// Whether `name` is a loader or interpreter hijack variable: [`HIJACK`], and every
/// `LD_*` (glibc's loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT…) and `DYLD_*`.
fn is_hijack(name: &str) -> bool {
    name.starts_with("LD_") || name.starts_with("DYLD_") || HIJACK.contains(&name)
}

/// Keys of one provider in different modes: a `pk_test_` beside an `sk_live_`.
fn check_mixed_modes(report: &mut Report) {
    let mut by_provider: BTreeMap<Provider, Vec<(&str, Mode)>> = BTreeMap::new();
    for (name, detector) in &report.detected {
        if let Some(mode) = detector.mode {
            by_provider
                .entry(detector.provider)
                .or_default()
                .push((name, mode));
        }
    }
    let mut findings = Vec::new();
    for (provider, keys) in by_provider {
        if keys.iter().all(|(_, mode)| *mode == keys[0].1) {
            continue;
        }
        let listed: Vec<String> = keys
            .iter()
            .map(|(name, mode)| format!("`{name}` is {mode}"))
            .collect();
        findings.push(Finding {
            names: keys.iter().map(|(name, _)| name.to_string()).collect(),
            message: format!("{provider} keys in mixed modes: {}", listed.join(", ")),
        });
    }
    report.errors.extend(findings);
}
