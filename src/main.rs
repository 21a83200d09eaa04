//! The binary: parse the command line, call the library, print the error chain and
//! pick the exit status.
//!
//! `main` is the C entry point (`no_main`): Rust's runtime start-up does not run, and
//! `secretrun::start` does the part of it secretrun needs (the command line, the
//! standard streams, SIGPIPE) without the rest, which costs a launch time
//! (bench/launch.sh measures it; the figure is in bench/README.md).

// A test harness built from this file (`cargo test --all-targets`) brings its own
// `main`; the binary has no tests of its own (tests/it runs it).
#![cfg_attr(not(test), no_main)]
#![warn(
    clippy::undocumented_unsafe_blocks,
    clippy::print_stdout,
    clippy::print_stderr
)]
#![cfg_attr(test, allow(dead_code, unused_imports))]

use std::ffi::{OsString, c_char, c_int};

use clap::CommandFactory;
use secretrun::cli::Cli;

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    secretrun::start::runtime();
    // SAFETY: argc and argv are what the C runtime received from execve.
    let args = unsafe { secretrun::start::args(argc, argv) };
    // A panic has printed its message; 101 is the status std's runtime gives it.
    let code = std::panic::catch_unwind(|| run(args)).unwrap_or(101);
    // Exits through std, which flushes standard output first.
    std::process::exit(code.into())
}

fn run(args: Vec<OsString>) -> u8 {
    // The parent's environment, once, before anything reads it: the command line's
    // SECRETRUN_* settings, the configuration, the stores.
    let parent = secretrun::parent::Parent::snapshot();
    let cli = Cli::from_args_of(args, &parent);
    if cli.subcommand.is_none() && cli.launch.command.is_empty() {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "no COMMAND given; write it after `--`: secretrun [OPTIONS] -- COMMAND [ARGS]...",
            )
            .exit();
    }
    if let Some(misuse) = cli.misuse() {
        Cli::command()
            .error(clap::error::ErrorKind::ArgumentConflict, misuse)
            .exit();
    }
    match secretrun::run(cli, parent) {
        Ok(code) => code,
        // A closed pipe (`secretrun list | head`) is the reader's choice, not an error.
        Err(err) if is_broken_pipe(&err) => 0,
        Err(err) => {
            secretrun::messages::error(&err);
            secretrun::error::exit_code(&err)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
