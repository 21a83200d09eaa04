//! The command line, as clap definitions only: no I/O, no defaults that need the
//! file system. Values clap can check alone arrive typed (durations, signals,
//! formats); `Config::from_cli` merges the rest with the config file and the
//! environment.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, ValueEnum};

mod commands;
mod quick;

use crate::duration::parse_duration;
use crate::mode::Mode;
pub use crate::output::{FindingsFormat, OutputFormat};
use crate::parent::Parent;
use crate::supervise::parse_signal;
pub use commands::{Command, RecipientArgs};

/// Load secrets from dotenv files, Vault/OpenBao, AWS Secrets Manager, Azure Key Vault
/// or Google Secret Manager, validate them, and exec COMMAND with a clean environment
/// holding only those secrets and what you keep.
#[derive(Debug, Parser)]
#[command(
    name = "secretrun",
    version,
    override_usage = "secretrun [OPTIONS] -- COMMAND [ARGS]...\n       secretrun check [OPTIONS] [--probe] [--strict] [--environment] [--format text|json]\n       secretrun list [OPTIONS]\n       secretrun explain NAME | diff A B\n       secretrun scan [OPTIONS] [--staged|--history] [PATH]...\n       secretrun init [--force]\n       secretrun keygen | encrypt FILE | decrypt FILE | edit FILE\n       secretrun completions SHELL",
    after_help = "Exit codes: the command's own status after exec; 1 scan found a secret; 2 usage; 65 validation failed or \
                  malformed dotenv file; 69 source unreachable; 77 access refused; 78 configuration \
                  error; 126 command not executable; 127 command not found."
)]
pub struct Cli {
    #[command(flatten)]
    pub shared: SharedArgs,

    #[command(subcommand)]
    pub subcommand: Option<Command>,

    #[command(flatten)]
    pub launch: LaunchArgs,
}

impl Cli {
    /// Parses `args` (the program's name first). A launch, the common case, is
    /// parsed without the subcommands: building their definitions was most of the
    /// launch's parsing time (bench/launch.sh, bench/README.md). Anything else, and anything
    /// the launch's definitions refuse (`--help` too), goes to the whole command
    /// line, which answers as it always did.
    ///
    /// The quick reader reads its `SECRETRUN_*` settings from `parent`; clap reads
    /// the same from the process's environment, which secretrun never writes, so
    /// the two are the same.
    pub fn from_args_of(args: Vec<OsString>, parent: &Parent) -> Cli {
        launch_only(&args, parent).unwrap_or_else(|| {
            Cli::try_parse_from(&args).unwrap_or_else(|e| forgot_the_dashes(e).exit())
        })
    }

    /// What clap cannot say of the command line: `--profile` more than once outside
    /// `diff`, and `diff` without two sides.
    pub fn misuse(&self) -> Option<&'static str> {
        let profiles = self.shared.profile.len();
        match &self.subcommand {
            Some(Command::Diff { sides, .. }) => match (sides.len(), profiles) {
                (0, 2) | (2, 0 | 1) => None,
                (2, _) => Some(
                    "`diff` with two sides takes `--profile` once, for the rules a source is read under",
                ),
                _ => Some(
                    "`diff` compares two: `diff PROFILE PROFILE`, `diff --profile A --profile B`, or `diff SOURCE SOURCE`",
                ),
            },
            _ if profiles > 1 => Some("`--profile` given more than once; only `diff` takes two"),
            _ => None,
        }
    }
}

/// clap's error, or, for a word it did not expect (`secretrun python app.py`), one
/// that says to put `--` before the command, naming the nearest subcommand when
/// the word looks like a misspelt one.
fn forgot_the_dashes(error: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::UnknownArgument {
        return error;
    }
    let Some(ContextValue::String(word)) = error.get(ContextKind::InvalidArg) else {
        return error;
    };
    if word.starts_with('-') {
        return error;
    }
    let nearest = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .find(|name| crate::names::near(word, name));
    let message = match nearest {
        Some(name) => format!(
            "`{}` is not a subcommand; did you mean `{name}`?",
            crate::escape::Escaped(word)
        ),
        None => format!(
            "`{}` is not a subcommand; to run it, put `--` before the command: \
             secretrun [OPTIONS] -- {} ...",
            crate::escape::Escaped(word),
            crate::escape::Escaped(word)
        ),
    };
    Cli::command().error(ErrorKind::InvalidSubcommand, message)
}

/// `args` parsed as a launch, when they name no subcommand and the launch's
/// definitions accept them.
fn launch_only(args: &[OsString], parent: &Parent) -> Option<Cli> {
    if names_a_subcommand(args) {
        return None;
    }
    quick::parse(args, |name| parent.var_os(name).map(OsStr::to_os_string))
        .or_else(|| launch_by_clap(args))
}

/// `args` parsed by clap as a launch: the launch's definitions without the
/// subcommands.
fn launch_by_clap(args: &[OsString]) -> Option<Cli> {
    let Launch { shared, launch } = Launch::try_parse_from(args).ok()?;
    Some(Cli {
        shared,
        subcommand: None,
        launch,
    })
}

/// A launch's command line: [`Cli`] without its subcommands.
#[derive(Parser)]
#[command(name = "secretrun")]
struct Launch {
    #[command(flatten)]
    shared: SharedArgs,
    #[command(flatten)]
    launch: LaunchArgs,
}

/// Whether a word before `--` is a subcommand's name (or `help`). An option's value
/// that happens to be one (`--from list`) also counts: the whole parser then decides.
fn names_a_subcommand(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .filter_map(|a| a.to_str())
        .any(|a| a == "help" || <Command as clap::Subcommand>::has_subcommand(a))
}

/// `--kill-timeout` and `--on-change-signal` when not given (clap and `quick` alike).
const KILL_TIMEOUT: &str = "10s";
const ON_CHANGE_SIGNAL: &str = "HUP";

/// The options of a launch (no subcommand), and the command.
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// Supervise COMMAND as a child and replace every secret value (4 characters or
    /// more) in its stdout and stderr with `[NAME]`.
    #[arg(long)]
    pub redact: bool,

    /// Act as init (forward signals, reap every zombie) even when not PID 1.
    #[arg(long, conflicts_with = "no_init")]
    pub init: bool,

    /// Exec even when running as PID 1.
    #[arg(long)]
    pub no_init: bool,

    /// Exec COMMAND, also as PID 1 and when a leased secret (Vault database
    /// credentials) would keep secretrun as its parent: nothing then renews or
    /// revokes the lease, and the credentials stop working when it expires.
    #[arg(long, conflicts_with_all = ["redact", "init", "watch"])]
    pub exec: bool,

    /// In supervise mode: after forwarding TERM or INT, how long the command has to
    /// exit before it is sent KILL.
    #[arg(long, value_name = "DURATION", default_value = KILL_TIMEOUT, value_parser = duration)]
    pub kill_timeout: Duration,

    /// Supervise COMMAND and fetch the sources again on this interval (`30s`, `5m`);
    /// a changed value restarts the command or signals it (`--on-change`).
    #[arg(long, value_name = "DURATION", value_parser = interval)]
    pub watch: Option<Duration>,

    /// What a changed value does with `--watch` (default: `signal` when every changed
    /// value is a `--file`, else `restart`), and what the end of a lease does
    /// (default `restart`, with fresh credentials).
    #[arg(long, value_enum)]
    pub on_change: Option<ChangeAction>,

    /// The signal `--on-change signal` sends.
    #[arg(long, value_name = "SIGNAL", default_value = ON_CHANGE_SIGNAL, value_parser = signal)]
    pub on_change_signal: crate::sigset::Signal,

    /// The command to run and its arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Options every subcommand shares.
#[derive(Debug, Args)]
pub struct SharedArgs {
    /// A source to load, in order; a later source wins on a name clash: a dotenv
    /// file's path, a store reference (vault://, aws-sm://, azure-kv://, gcp-sm://),
    /// `docker-secrets`, `systemd-creds` or `dir:PATH` (a file a variable). Default:
    /// the config's `sources`, else `./.env`.
    #[arg(short = 'f', long = "from", value_name = "SOURCE", global = true)]
    pub from: Vec<String>,

    /// Also read each parent variable `NAME_FILE` that names a file, as `NAME` (the
    /// `*_FILE` convention of Docker images), before the other sources; the
    /// launcher's own settings (AWS_*, VAULT_*, …) are never read.
    #[arg(long, global = true)]
    pub from_file_vars: bool,

    /// The profile of the config file to use (`[profiles.NAME]`). Default:
    /// SECRETRUN_PROFILE, else the profile named `default` when there is one.
    /// `diff` takes it twice (`diff --profile staging --profile prod`).
    #[arg(long, value_name = "NAME", global = true, action = clap::ArgAction::Append)]
    pub profile: Vec<String>,

    /// The config file. Default: `./secretrun.toml` when present.
    #[arg(
        short,
        long,
        value_name = "FILE",
        env = "SECRETRUN_CONFIG",
        global = true
    )]
    pub config: Option<PathBuf>,

    /// Pass this parent variable through; `*` and `?` match. The stores' credentials
    /// and settings (VAULT_*, BAO_*, AWS_*, AZURE_*, GOOGLE_APPLICATION_CREDENTIALS, …)
    /// and SECRETRUN_* pass only when named exactly.
    #[arg(long, value_name = "NAME|GLOB", global = true)]
    pub keep: Vec<String>,

    /// Give the command this variable's value as a file in memory, never on disk:
    /// NAME then holds the file's path; `VAR=NAME` puts the path in VAR instead
    /// (`DB_PASSWORD_FILE=DB_PASSWORD`) and leaves NAME out. Repeatable.
    #[arg(long = "file", value_name = "NAME|VAR=NAME", global = true)]
    pub as_file: Vec<String>,

    /// Pass nothing from the parent, not even PATH, HOME, TERM and the rest of the baseline.
    #[arg(long, global = true)]
    pub pure: bool,

    /// Fail unless NAME is present and non-empty in the command's environment.
    #[arg(long, value_name = "NAME", global = true)]
    pub require: Vec<String>,

    /// Which kind of provider keys this deployment must use: any key of the other
    /// kind is an error. Without it, live keys only warn.
    #[arg(
        long,
        value_enum,
        value_name = "live|test",
        env = "SECRETRUN_EXPECT",
        global = true
    )]
    pub expect: Option<Mode>,

    /// An age identity file (X25519 or an SSH private key) for age-encrypted dotenv
    /// files; before the config's `identity`, $SECRETRUN_AGE_IDENTITY and the defaults.
    #[arg(short = 'i', long, value_name = "FILE", global = true)]
    pub identity: Vec<PathBuf>,

    /// One deadline for all fetching, such as `10s`, `500ms` or `2m`.
    #[arg(
        long,
        value_name = "DURATION",
        env = "SECRETRUN_TIMEOUT",
        global = true
    )]
    pub timeout: Option<String>,
}

/// `--on-change`: what to do; [`crate::supervise::OnChange`] is what is done, with
/// the signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ChangeAction {
    /// Stop the command and start it again with the new values.
    Restart,
    /// Send it `--on-change-signal`.
    Signal,
}

/// A duration such as `10s`, `500ms` or `2m`.
fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .ok_or_else(|| "not a duration such as `10s` (at most 100 years)".to_owned())
}

/// A duration above zero.
fn interval(text: &str) -> Result<Duration, String> {
    match duration(text)? {
        d if d.is_zero() => Err("takes a duration above zero".to_owned()),
        d => Ok(d),
    }
}

/// A signal `--on-change signal` may send.
fn signal(text: &str) -> Result<crate::sigset::Signal, String> {
    parse_signal(text).ok_or_else(|| "takes HUP, INT, QUIT, TERM, USR1, USR2 or WINCH".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    pub(super) fn words(args: &[&str]) -> Vec<OsString> {
        std::iter::once("secretrun")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// Settings clap reads from the environment would make the comparisons below
    /// compare the environment too.
    pub(super) fn no_settings_in_the_environment() {
        for name in ["SECRETRUN_CONFIG", "SECRETRUN_EXPECT", "SECRETRUN_TIMEOUT"] {
            assert!(
                std::env::var_os(name).is_none(),
                "unset {name} to run the tests"
            );
        }
    }

    /// What the launch's parsers accept, the whole parser reads the same way: the
    /// reader without clap takes every launch below that clap takes, and clap's
    /// launch parser too.
    #[test]
    fn a_launch_parses_alike_without_the_subcommands() {
        no_settings_in_the_environment();
        let options: [&[&str]; 14] = [
            &["--from", "a.env"],
            &["-f", "vault://secret/app#KEY"],
            &["--from=b.env"],
            &["--keep", "PORT", "--keep=HOME"],
            &["--require", "DB_URL"],
            &["--pure"],
            &["--expect", "live"],
            &["-c", "other.toml"],
            &["-i", "id.txt"],
            &["--timeout", "3s"],
            &["--redact", "--kill-timeout", "1s"],
            &["--watch", "30s", "--on-change", "restart"],
            &["--init", "--on-change-signal", "USR1"],
            &["--exec"],
        ];
        let mut taken = 0;
        for mask in 0u32..(1 << options.len()) {
            // Every single option, and a spread of combinations (the mask's bits).
            if mask.count_ones() > 1 && mask % 29 != 0 {
                continue;
            }
            let mut args: Vec<&str> = (0..options.len())
                .filter(|i| mask & (1 << i) != 0)
                .flat_map(|i| options[i].iter().copied())
                .collect();
            args.extend(["--", "app", "check", "--from", "x"]);
            let args = words(&args);
            let whole = Cli::try_parse_from(&args);
            let quick = quick::parse(&args, |_| None);
            assert_eq!(quick.is_some(), whole.is_ok(), "{args:?}");
            match launch_by_clap(&args) {
                Some(fast) => {
                    taken += 1;
                    let whole = format!("{:?}", whole.expect("the launch's parser took it"));
                    assert_eq!(format!("{fast:?}"), whole);
                    assert_eq!(format!("{:?}", quick.unwrap()), whole);
                }
                // Only what the whole parser refuses too (`--exec` with `--redact`).
                None => assert!(whole.is_err(), "{args:?} was not taken"),
            }
        }
        assert!(taken > 100, "{taken}");
        // `--` and no command: main reports it.
        let args = words(&["--"]);
        let quick = format!("{:?}", quick::parse(&args, |_| None).unwrap());
        assert_eq!(quick, format!("{:?}", Cli::try_parse_from(&args).unwrap()));
    }

    #[test]
    fn help_errors_and_subcommands_go_to_the_whole_parser() {
        for args in [
            &["--help"][..],
            &["-h"],
            &["-V"],
            &["--version"],
            &["check"],
            &["--from", "a.env", "list"],
            &["--from", "list", "--", "app"],
            &["help"],
            &["app"],
            &["--bogus", "--", "app"],
            &["--watch", "0s", "--", "app"],
            &["--exec", "--redact", "--", "app"],
        ] {
            assert!(
                launch_only(&words(args), &Parent::of(Vec::new())).is_none(),
                "{args:?}"
            );
        }
    }

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn command_after_double_dash() {
        let cli = Cli::try_parse_from(["secretrun", "--keep", "PORT", "--", "list", "-x"]).unwrap();
        assert!(cli.subcommand.is_none());
        assert_eq!(cli.launch.command, ["list", "-x"]);
        assert_eq!(cli.shared.keep, ["PORT"]);
    }

    #[test]
    fn shared_options_after_subcommand() {
        let cli = Cli::try_parse_from(["secretrun", "list", "--from", "a.env", "--format", "json"])
            .unwrap();
        assert_eq!(cli.shared.from, ["a.env"]);
        assert!(matches!(
            cli.subcommand,
            Some(Command::List {
                format: OutputFormat::Json,
                ..
            })
        ));
    }

    #[test]
    fn durations_and_signals_arrive_typed() {
        let cli = Cli::try_parse_from([
            "secretrun",
            "--kill-timeout",
            "200ms",
            "--watch",
            "2m",
            "--on-change-signal",
            "SIGUSR1",
            "--",
            "app",
        ])
        .unwrap();
        assert_eq!(cli.launch.kill_timeout, Duration::from_millis(200));
        assert_eq!(cli.launch.watch, Some(Duration::from_secs(120)));
        assert_eq!(cli.launch.on_change_signal, crate::sigset::Signal::USR1);
        for bad in [
            ["--watch", "0s"],
            ["--watch", "soon"],
            ["--kill-timeout", "-1s"],
            ["--on-change-signal", "KILL"],
        ] {
            let args = ["secretrun", bad[0], bad[1], "--", "app"];
            let err = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    /// The command line's readers (without clap, clap's launch definitions, the
    /// whole command line) never panic, whatever the arguments.
    #[test]
    fn any_launch_line_is_read_without_a_panic() {
        let alphabet = [
            "--timeout",
            "--watch",
            "--kill-timeout",
            "--from",
            "--keep",
            "--",
            "-f",
            "-c",
            "10s",
            "99999999999d",
            "18446744073709551615",
            "x",
            "=",
            "--on-change",
            "--on-change-signal",
            "HUP",
            "--redact",
            "--init",
            "--exec",
            "--pure",
            "-",
            "list",
            "check",
            "scan",
        ];
        let samples = [
            "--timeout 10s -- true",
            "--watch=1m -f .env -- a b",
            "--kill-timeout 2s -- x",
        ];
        crate::props::run("launch line", &alphabet, &samples, |b| {
            let line = String::from_utf8_lossy(b);
            let args: Vec<OsString> = std::iter::once("secretrun")
                .chain(line.split(' '))
                .map(OsString::from)
                .collect();
            let _ = quick::parse(&args, |_| None);
            let _ = launch_only(&args, &Parent::of(Vec::new()));
            let _ = Cli::try_parse_from(&args);
        });
    }
}
