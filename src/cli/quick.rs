//! A launch's command line read without clap, in the forms people write:
//! `--name value`, `--name=value`, `-f`/`-c`/`-i value`, flags, then `--` and the
//! command. Building clap's definitions and running its parser was most of what a
//! launch spends before it loads anything (bench/launch.sh, bench/README.md). Anything else
//! (help, a typo, a repeated single option, a value starting with `-`, an empty
//! value, a conflict, text that is not UTF-8) gets `None` here and goes to clap,
//! which answers as it always did; tests in `cli` compare the two on every form read
//! here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{
    ChangeAction, Cli, KILL_TIMEOUT, LaunchArgs, ON_CHANGE_SIGNAL, SharedArgs, duration, interval,
    signal,
};
use crate::mode::Mode;

/// Flags: no value, at most once.
const FLAGS: &[&str] = &["--redact", "--init", "--no-init", "--exec", "--pure"];

/// `args` (the program's name first) as a launch; `env` looks up the variables clap
/// would read for an option not given (`SECRETRUN_CONFIG`, `_EXPECT`, `_TIMEOUT`).
pub(super) fn parse(args: &[OsString], env: impl Fn(&str) -> Option<OsString>) -> Option<Cli> {
    let mut cli = empty();
    let mut given: Vec<&str> = Vec::new();
    let mut kill_timeout = None;
    let mut on_change_signal = None;
    let mut words = args.iter().skip(1);
    loop {
        // No `--` at all: clap says what is missing.
        let word = words.next()?;
        if word == "--" {
            cli.launch.command = words.cloned().collect();
            break;
        }
        let word = word.to_str()?;
        let (name, inline) = match word.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (word, None),
        };
        let name = match name {
            "-f" => "--from",
            "-c" => "--config",
            "-i" => "--identity",
            long if long.starts_with("--") => long,
            _ => return None,
        };
        let once = !matches!(name, "--from" | "--keep" | "--require" | "--identity");
        if once && given.contains(&name) {
            return None;
        }
        given.push(name);
        if FLAGS.contains(&name) {
            if inline.is_some() {
                return None;
            }
            set_flag(&mut cli, name);
            continue;
        }
        let value = match inline {
            Some(value) => value,
            None => words.next()?.to_str()?,
        };
        if value.is_empty() || value.starts_with('-') {
            return None;
        }
        let (shared, launch) = (&mut cli.shared, &mut cli.launch);
        match name {
            "--from" => shared.from.push(value.to_owned()),
            "--keep" => shared.keep.push(value.to_owned()),
            "--require" => shared.require.push(value.to_owned()),
            "--identity" => shared.identity.push(PathBuf::from(value)),
            "--config" => shared.config = Some(PathBuf::from(value)),
            "--expect" => shared.expect = Some(Mode::from_str(value, false).ok()?),
            "--timeout" => shared.timeout = Some(value.to_owned()),
            "--kill-timeout" => kill_timeout = Some(duration(value).ok()?),
            "--watch" => launch.watch = Some(interval(value).ok()?),
            "--on-change" => launch.on_change = Some(ChangeAction::from_str(value, false).ok()?),
            "--on-change-signal" => on_change_signal = Some(signal(value).ok()?),
            _ => return None,
        }
    }
    let launch = &mut cli.launch;
    if launch.init && launch.no_init || launch.exec && (launch.redact || launch.init) {
        return None;
    }
    if launch.exec && launch.watch.is_some() {
        return None;
    }
    launch.kill_timeout = kill_timeout.unwrap_or(duration(KILL_TIMEOUT).ok()?);
    launch.on_change_signal = on_change_signal.unwrap_or(signal(ON_CHANGE_SIGNAL).ok()?);
    from_env(&mut cli.shared, env)?;
    Some(cli)
}

/// The options clap reads from the environment when they are not given; `None` when
/// such a variable is set but empty, not UTF-8 or not a valid value, which clap
/// reports.
fn from_env(shared: &mut SharedArgs, env: impl Fn(&str) -> Option<OsString>) -> Option<()> {
    let set = |name: &str| -> Option<Option<String>> {
        match env(name) {
            None => Some(None),
            Some(value) => match value.into_string() {
                Ok(value) if !value.is_empty() => Some(Some(value)),
                _ => None,
            },
        }
    };
    if shared.config.is_none() {
        shared.config = set("SECRETRUN_CONFIG")?.map(PathBuf::from);
    }
    if shared.expect.is_none()
        && let Some(value) = set("SECRETRUN_EXPECT")?
    {
        shared.expect = Some(Mode::from_str(&value, false).ok()?);
    }
    if shared.timeout.is_none() {
        shared.timeout = set("SECRETRUN_TIMEOUT")?;
    }
    Some(())
}

fn set_flag(cli: &mut Cli, name: &str) {
    let flag = match name {
        "--redact" => &mut cli.launch.redact,
        "--init" => &mut cli.launch.init,
        "--no-init" => &mut cli.launch.no_init,
        "--exec" => &mut cli.launch.exec,
        _ => &mut cli.shared.pure,
    };
    *flag = true;
}

/// A launch with nothing given; the defaults are set once the words are read.
fn empty() -> Cli {
    Cli {
        shared: SharedArgs {
            from: Vec::new(),
            from_file_vars: false,
            as_file: Vec::new(),
            profile: Vec::new(),
            config: None,
            keep: Vec::new(),
            pure: false,
            require: Vec::new(),
            expect: None,
            identity: Vec::new(),
            timeout: None,
        },
        subcommand: None,
        launch: LaunchArgs {
            redact: false,
            init: false,
            no_init: false,
            exec: false,
            kill_timeout: std::time::Duration::ZERO,
            watch: None,
            on_change: None,
            on_change_signal: crate::sigset::Signal::USR1,
            command: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::launch_only;
    use crate::cli::tests::{no_settings_in_the_environment, words};
    use clap::Parser;

    /// Every other form goes on to clap: what clap refuses, and what it takes in a
    /// form not read without it (those then parse as clap says).
    #[test]
    fn the_reader_without_clap_leaves_every_other_form_to_clap() {
        no_settings_in_the_environment();
        for args in [
            &["--from", "a.env"][..],
            &["--redact", "--redact", "--", "app"],
            &["--config", "a", "--config", "b", "--", "app"],
            &["--watch", "1s", "--watch=2s", "--", "app"],
            &["--from", "-x", "--", "app"],
            &["--from=-x", "--", "app"],
            &["--from=", "--", "app"],
            &["--from", "", "--", "app"],
            &["-fa.env", "--", "app"],
            &["-f=a.env", "--", "app"],
            &["--from", "--", "app"],
            &["--redact=true", "--", "app"],
            &["--init", "--no-init", "--", "app"],
            &["--exec", "--watch", "1s", "--", "app"],
            &["--exec", "--init", "--", "app"],
            &["--bogus", "--", "app"],
            &["-x", "v", "--", "app"],
            &["app"],
            &["--watch", "0s", "--", "app"],
            &["--expect", "LIVE", "--", "app"],
            &["--on-change", "stop", "--", "app"],
            &["--on-change-signal", "KILL", "--", "app"],
            &["--kill-timeout", "soon", "--", "app"],
            &["--help"],
            &["-V"],
            &["--fro", "a.env", "--", "app"],
        ] {
            let args = words(args);
            assert!(parse(&args, |_| None).is_none(), "{args:?}");
            if let Ok(whole) = Cli::try_parse_from(&args) {
                let by = launch_only(&args, &crate::parent::Parent::of(Vec::new()))
                    .map(|cli| format!("{cli:?}"));
                assert_eq!(by, Some(format!("{whole:?}")), "{args:?}");
            }
        }
        let mut odd = words(&["--from"]);
        odd.push(std::os::unix::ffi::OsStringExt::from_vec(
            b"a\xff.env".to_vec(),
        ));
        odd.extend(words(&["--", "app"]).into_iter().skip(1));
        assert!(parse(&odd, |_| None).is_none());
    }

    /// The settings clap reads from the environment, read alike: a flag wins, and a
    /// value clap would refuse is left to clap.
    #[test]
    fn the_reader_without_clap_reads_settings_from_the_environment() {
        fn env<'a>(pairs: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + Copy + 'a {
            move |name| {
                let found = pairs.iter().find(|(n, _)| *n == name);
                found.map(|(_, value)| OsString::from(value))
            }
        }
        let all = env(&[
            ("SECRETRUN_CONFIG", "env.toml"),
            ("SECRETRUN_EXPECT", "test"),
            ("SECRETRUN_TIMEOUT", "4s"),
        ]);
        let cli = parse(&words(&["--", "app"]), all).unwrap();
        assert_eq!(cli.shared.config, Some(PathBuf::from("env.toml")));
        assert_eq!(cli.shared.expect, Some(Mode::Test));
        assert_eq!(cli.shared.timeout.as_deref(), Some("4s"));
        let args = words(&[
            "-c",
            "flag.toml",
            "--expect",
            "live",
            "--timeout",
            "1s",
            "--",
            "app",
        ]);
        let cli = parse(&args, all).unwrap();
        assert_eq!(cli.shared.config, Some(PathBuf::from("flag.toml")));
        assert_eq!(cli.shared.expect, Some(Mode::Live));
        assert_eq!(cli.shared.timeout.as_deref(), Some("1s"));
        for refused in [
            &[("SECRETRUN_EXPECT", "LIVE")][..],
            &[("SECRETRUN_EXPECT", "")],
            &[("SECRETRUN_CONFIG", "")],
            &[("SECRETRUN_TIMEOUT", "")],
        ] {
            assert!(
                parse(&words(&["--", "app"]), env(refused)).is_none(),
                "{refused:?}"
            );
        }
    }
}
