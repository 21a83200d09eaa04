//! secretrun: load secrets, check them, and exec a command with a clean environment.
//! [`run`] is the whole flow of DESIGN.md; each step lives in its own module.

// One voice: lines for people are written by `messages`, reports by the renderers,
// both through locked handles; a stray `println!`/`eprintln!` fails clippy. Every
// `unsafe` block says why it is sound.
#![cfg_attr(not(test), warn(clippy::print_stdout, clippy::print_stderr))]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod boolean;
pub mod check;
pub mod cli;
pub mod config;
pub mod crypt;
pub mod deliver;
pub mod detectors;
pub mod diff;
pub mod duration;
pub mod encrypted;
pub mod env;
pub mod envvars;
pub mod error;
pub mod escape;
pub mod exec;
pub mod explain;
#[cfg(test)]
mod freed;
#[cfg(test)]
mod fuzz;
pub mod init;
pub mod jitter;
pub mod launch;
pub mod lease;
pub mod list;
pub mod messages;
pub mod mode;
pub mod names;
pub mod output;
pub mod parent;
pub mod placeholder;
pub mod prepare;
#[cfg(test)]
mod props;
pub mod scan;
pub mod secrecy;
pub mod secret;
pub mod sigset;
pub mod source;
pub mod start;
pub mod supervise;
pub mod timestamp;
pub mod validate;
pub mod zeroing;

// The process's allocator zeroes every block it takes back (`zeroing`); the unit
// tests' allocator (`freed`) wraps it.
#[cfg(not(test))]
#[global_allocator]
static ALLOCATOR: zeroing::Zeroing = zeroing::Zeroing(std::alloc::System);

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::config::{Action, Config};
use crate::prepare::Pipeline;

/// Runs what the command line asks. For a launch this returns only on failure; for
/// the subcommands it returns the exit status.
pub fn run(cli: Cli, parent: parent::Parent) -> Result<u8> {
    if let Some(code) = generate(&cli)? {
        return Ok(code);
    }
    let core = exec::harden().context("disabling core dumps")?;
    let started = Instant::now();
    let config = Config::from_cli(&cli, &parent)?;
    let other = match &config.action {
        Action::Diff { other, .. } => Some(Config::from_cli_in(&cli, &parent, Some(other))?),
        _ => None,
    };
    let pipeline = Pipeline::new(config.steps.clone(), parent.into_vars());
    match &config.action {
        Action::Crypt(task) => crypt::run(
            task,
            &crypt::Context {
                recipients: &config.recipients,
                identity: &config.steps.fetch.identity,
                parent: pipeline.parent(),
            },
        ),
        Action::List { format } => {
            let secrets = pipeline.load()?;
            let mut out = std::io::stdout().lock();
            let mut env = pipeline.env(&secrets);
            deliver::describe(&mut env, pipeline.files())?;
            list::print(&env, *format, &mut out)?;
            out.flush()?;
            Ok(0)
        }
        Action::Diff {
            ours: a,
            other: b,
            format,
        } => {
            let theirs = Pipeline::new(
                other.expect("read with the diff").steps,
                pipeline.parent().to_vec(),
            );
            let mut out = std::io::stdout().lock();
            let status = diff::run(
                (&pipeline, &theirs),
                (a.label(), b.label()),
                (*format, config.project.config.as_deref()),
                &mut out,
            )?;
            out.flush()?;
            Ok(status)
        }
        Action::Explain { name, format } => {
            let secrets = pipeline.load()?;
            let env = pipeline.env(&secrets);
            let report = pipeline.validate(&env);
            let mut out = std::io::stdout().lock();
            let fine = explain::Explained {
                name,
                secrets: &secrets,
                env: &env,
                report: &report,
                rules: pipeline.rules(),
                files: pipeline.files(),
            }
            .print(*format == output::OutputFormat::Json, &mut out)?;
            out.flush()?;
            Ok(if fine { 0 } else { 65 })
        }
        Action::Check {
            format,
            probe,
            colour,
        } => {
            let secrets = pipeline.load()?;
            let mut env = pipeline.env(&secrets);
            let mut report = pipeline.validate(&env);
            let exposed = validate::exposure::exposed(&env, &report);
            report.warnings.extend(exposed);
            if *probe {
                let parent = |name: &str| parent::var(pipeline.parent(), name);
                let deadline = started + config.steps.fetch.timeout;
                validate::probe::probe_all(&env, &mut report, deadline, &parent);
            }
            deliver::describe(&mut env, pipeline.files())?;
            let mut out = std::io::stdout().lock();
            check::print(&env, &report, *format, *colour, &config.project, &mut out)?;
            out.flush()?;
            Ok(report.exit_status())
        }
        Action::Scan(options) => {
            let secrets = pipeline.load()?;
            let mut out = std::io::stdout().lock();
            let status = scan::run(options, &secrets, &mut out)?;
            out.flush()?;
            Ok(status)
        }
        Action::Run { command, how } => launch::launch(&pipeline, command, how, core),
    }
}

/// The completion script or the manual page, which need no configuration.
fn generate(cli: &Cli) -> Result<Option<u8>> {
    match cli.subcommand {
        Some(Command::Completions { shell }) => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "secretrun", &mut out);
        }
        Some(Command::Manpage) => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
        }
        Some(Command::Environment) => {
            std::io::stdout().write_all(envvars::reference().as_bytes())?;
        }
        // Before the configuration: init writes it, and must not fail on one.
        Some(Command::Init { force, dry_run }) => {
            let mut out = std::io::stdout().lock();
            return init::run(init::Options { force, dry_run }, &mut out).map(Some);
        }
        _ => return Ok(None),
    }
    Ok(Some(0))
}
