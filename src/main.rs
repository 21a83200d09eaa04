//! The binary: parse the command line, call the library, print the error chain and
//! pick the exit status.

use std::process::ExitCode;

use clap::CommandFactory;
use secretrun::cli::Cli;

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
