//! The command line, as clap definitions only: no I/O, no defaults that need the
//! file system. `Config::from_cli` turns these into a validated configuration.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::mode::Mode;

/// Load secrets from dotenv files, Vault/OpenBao or AWS Secrets Manager, validate them,
/// and exec COMMAND with a clean environment holding only those secrets and what you
/// keep.
#[derive(Debug, Parser)]
#[command(
    name = "secretrun",
    version,
    override_usage = "secretrun [OPTIONS] -- COMMAND [ARGS]...\n       secretrun check [OPTIONS] [--probe] [--format text|json]\n       secretrun list [OPTIONS]\n       secretrun completions SHELL",
    after_help = "Exit codes: the command's own status after exec; 2 usage; 65 validation failed or \
                  malformed dotenv file; 69 source unreachable; 77 access refused; 78 configuration \
                  error; 126 command not executable; 127 command not found."
)]
pub struct Cli {
    #[command(flatten)]
    pub shared: SharedArgs,

    #[command(subcommand)]
    pub subcommand: Option<Command>,

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

    /// In supervise mode: after forwarding TERM or INT, how long the command has to
    /// exit before it is sent KILL.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub kill_timeout: String,

    /// Supervise COMMAND and fetch the sources again on this interval (`30s`, `5m`);
    /// a changed value restarts the command or signals it (`--on-change`).
    #[arg(long, value_name = "DURATION")]
    pub watch: Option<String>,

    /// What a changed value does with `--watch`.
    #[arg(long, value_enum, default_value_t = OnChange::Signal)]
    pub on_change: OnChange,

    /// The signal `--on-change signal` sends.
    #[arg(long, value_name = "SIGNAL", default_value = "HUP")]
    pub on_change_signal: String,

    /// The command to run and its arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Options every subcommand shares.
#[derive(Debug, Args)]
pub struct SharedArgs {
    /// A source to load, in order; a later source wins on a name clash. A path is a
    /// dotenv file. Default: the config's `sources`, else `./.env`.
    #[arg(short = 'f', long = "from", value_name = "SOURCE", global = true)]
    pub from: Vec<String>,

    /// The config file. Default: `./secretrun.toml` when present.
    #[arg(
        short,
        long,
        value_name = "FILE",
        env = "SECRETRUN_CONFIG",
        global = true
    )]
    pub config: Option<PathBuf>,

    /// Pass this parent variable through; `*` and `?` match. VAULT_*, BAO_*, AWS_* and
    /// SECRETRUN_* pass only when named exactly.
    #[arg(long, value_name = "NAME|GLOB", global = true)]
    pub keep: Vec<String>,

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

    /// One deadline for all fetching, such as `10s`, `500ms` or `2m`.
    #[arg(
        long,
        value_name = "DURATION",
        env = "SECRETRUN_TIMEOUT",
        global = true
    )]
    pub timeout: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline without exec: load, validate, report. Exit 0 (warnings
    /// allowed) or 65.
    Check {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Prove the keys work by calling their providers (Stripe: GET /v1/balance).
        #[arg(long)]
        probe: bool,
    },
    /// Show every variable the command would get: name, origin and masked value.
    List {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Print a shell completion script to standard output.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to standard output: `secretrun manpage > secretrun.1`.
    #[command(hide = true)]
    Manpage,
}

/// `--on-change`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnChange {
    /// Stop the command and start it again with the new values.
    Restart,
    /// Send it `--on-change-signal`.
    Signal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn command_after_double_dash() {
        let cli = Cli::try_parse_from(["secretrun", "--keep", "PORT", "--", "list", "-x"]).unwrap();
        assert!(cli.subcommand.is_none());
        assert_eq!(cli.command, ["list", "-x"]);
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
                format: OutputFormat::Json
            })
        ));
    }
}
