//! The binary: parse the command line, call the library, print the error chain and
//! pick the exit status.

use std::process::ExitCode;

use clap::CommandFactory;
use secretrun::cli::Cli;

/// Runs before Rust's runtime, which ignores SIGPIPE for the whole process: what the
/// parent had set is recorded, so that the command gets it back.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static BEFORE_RUNTIME: extern "C" fn() = before_runtime;

#[cfg(target_os = "linux")]
extern "C" fn before_runtime() {
    secretrun::exec::record_sigpipe();
}

fn main() -> ExitCode {
    let cli = Cli::from_args();
    if cli.subcommand.is_none() && cli.launch.command.is_empty() {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "no COMMAND given; write it after `--`: secretrun [OPTIONS] -- COMMAND [ARGS]...",
            )
            .exit();
    }
    match secretrun::run(cli) {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`secretrun list | head`) is the reader's choice, not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            secretrun::messages::error(&err);
            ExitCode::from(secretrun::error::exit_code(&err))
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
