//! What the command line asks for: the action, and how a command is to run.

use std::ffi::OsString;
use std::io::IsTerminal;

use crate::cli::{ChangeAction, Cli, Command, RecipientArgs};
use crate::crypt::{Recipients, Task};
use crate::output::{FindingsFormat, OutputFormat};
use crate::parent::Parent;
use crate::scan;
use crate::supervise::{self, OnChange, Watch};

use super::ScanFile;
use super::profiles::Side;

/// What secretrun is asked to do with the secrets.
#[derive(Debug)]
pub enum Action {
    /// Show what the command would get.
    List { format: OutputFormat },
    /// Explain one variable.
    Explain { name: String, format: OutputFormat },
    /// Compare two profiles or sources; the configuration read is `ours`'s.
    Diff {
        ours: Side,
        other: Side,
        format: FindingsFormat,
    },
    /// Report on the secrets, and with `probe` ask their providers.
    Check {
        format: OutputFormat,
        probe: bool,
        /// Colour the text report: a terminal, and no `NO_COLOR`.
        colour: bool,
    },
    /// Look for the secrets in files.
    Scan(scan::Options),
    /// `keygen`, `encrypt`, `decrypt` or `edit`.
    Crypt(crate::crypt::Task),
    /// Run the command: exec it, or supervise it.
    Run {
        command: Vec<OsString>,
        how: Launching,
    },
}

/// How the command is to run.
#[derive(Debug)]
pub struct Launching {
    /// Supervise it whatever the secrets are (`--redact`, `--init`, `--watch`, or
    /// PID 1); otherwise exec it, unless a secret is leased.
    pub supervise: bool,
    /// The flag that asked for an exec: `--exec` (which a lease gives way to, with
    /// a warning) or `--no-init` as PID 1 (which it does not).
    pub exec_asked: Option<&'static str>,
    /// The options of supervision, when it happens.
    pub options: supervise::Options,
}

/// Whether dynamic secrets are read: by a launch, and by `list` and `check` when
/// asked (each read creates credentials).
pub(super) fn reads_dynamic(cli: &Cli) -> bool {
    match &cli.subcommand {
        None => true,
        Some(Command::List { read_dynamic, .. } | Command::Check { read_dynamic, .. }) => {
            *read_dynamic
        }
        Some(_) => false,
    }
}

/// What the command line asks for.
pub(super) fn action(
    cli: &Cli,
    scan_file: &ScanFile,
    parent: &Parent,
    diff: Option<(Side, Side)>,
) -> Action {
    match &cli.subcommand {
        Some(Command::List { format, .. }) => Action::List { format: *format },
        Some(Command::Explain { name, format }) => Action::Explain {
            name: name.clone(),
            format: *format,
        },
        Some(Command::Diff { format, .. }) => {
            let (ours, other) = diff.expect("resolved with the config");
            Action::Diff {
                ours,
                other,
                format: *format,
            }
        }
        Some(Command::Check { format, probe, .. }) => Action::Check {
            format: *format,
            probe: *probe,
            colour: std::io::stdout().is_terminal() && parent.var_os("NO_COLOR").is_none(),
        },
        Some(Command::Scan {
            paths,
            staged,
            history,
            format,
            hidden,
            binary,
            ..
        }) => Action::Scan(scan::Options {
            paths: paths.clone(),
            mode: match (staged, history) {
                (true, _) => scan::Mode::Staged,
                (_, true) => scan::Mode::History,
                _ => scan::Mode::Tree,
            },
            format: *format,
            progress: *format == FindingsFormat::Text && std::io::stderr().is_terminal(),
            hidden: *hidden,
            binary: *binary,
            exclude: scan_file.exclude.clone(),
            allow: scan_file.allow.clone(),
        }),
        Some(Command::Keygen { output, public }) => Action::Crypt(Task::Keygen {
            output: output.clone(),
            public: public.clone(),
        }),
        Some(Command::Encrypt {
            file,
            to,
            output,
            armor,
        }) => Action::Crypt(Task::Encrypt {
            file: file.clone(),
            to: recipients(to),
            output: output.clone(),
            armor: *armor,
        }),
        Some(Command::Decrypt { file }) => Action::Crypt(Task::Decrypt { file: file.clone() }),
        Some(Command::Edit { file, to }) => Action::Crypt(Task::Edit {
            file: file.clone(),
            to: recipients(to),
        }),
        _ => Action::Run {
            command: cli.launch.command.clone(),
            how: launching(cli),
        },
    }
}

fn recipients(args: &RecipientArgs) -> Recipients {
    Recipients {
        keys: args.recipients.clone(),
        files: args.recipients_files.clone(),
    }
}

/// How the command runs: supervised when asked (`--redact`, `--init`, `--watch`) or
/// as PID 1 (a container's entrypoint) unless `--no-init`; and, whatever was asked,
/// when a secret is leased, unless `--exec`.
fn launching(cli: &Cli) -> Launching {
    let pid1 = std::process::id() == 1;
    let signal = OnChange::Signal(cli.launch.on_change_signal);
    let action = |default| match cli.launch.on_change {
        Some(ChangeAction::Restart) => OnChange::Restart,
        Some(ChangeAction::Signal) => signal,
        None => default,
    };
    let exec_asked = if cli.launch.exec {
        Some("--exec")
    } else if pid1 && cli.launch.no_init {
        Some("--no-init")
    } else {
        None
    };
    Launching {
        supervise: cli.launch.redact
            || cli.launch.init
            || cli.launch.watch.is_some()
            || (pid1 && !cli.launch.no_init && !cli.launch.exec),
        exec_asked,
        options: supervise::Options {
            kill_timeout: cli.launch.kill_timeout,
            reap_all: pid1 || cli.launch.init,
            redact: cli.launch.redact,
            watch: cli.launch.watch.map(|every| Watch {
                every,
                on_change: action(OnChange::Auto(cli.launch.on_change_signal)),
            }),
            lease_end: action(OnChange::Restart),
        },
    }
}
