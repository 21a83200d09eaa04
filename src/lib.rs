//! secretrun: load secrets, check them, and exec a command with a clean environment.
//! [`run`] is the whole flow of DESIGN.md; each step lives in its own module.

pub mod address;
pub mod boolean;
pub mod check;
pub mod cli;
pub mod config;
pub mod detectors;
pub mod duration;
pub mod env;
pub mod error;
pub mod escape;
pub mod exec;
#[cfg(test)]
mod freed;
pub mod list;
pub mod mode;
pub mod names;
pub mod redact;
pub mod secret;
pub mod source;
pub mod supervise;
pub mod validate;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, Command, OutputFormat};
use crate::config::Config;
use crate::env::ChildEnv;
use crate::error::{Failure, Kind};
use crate::secret::SecretValue;
use crate::validate::probe::Outcome;
use crate::validate::{Finding, Report};

/// Runs what the command line asks. For a launch this returns only on failure; for
/// the subcommands it returns the exit status.
pub fn run(cli: Cli) -> Result<u8> {
    let hardening = exec::harden().context("disabling core dumps")?;
    let parent: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let path = parent
        .iter()
        .find(|(n, _)| n == "PATH")
        .map(|(_, v)| v.clone());
    let format = match cli.subcommand {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "secretrun",
                &mut std::io::stdout(),
            );
            return Ok(0);
        }
        Some(Command::Manpage) => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            return Ok(0);
        }
        Some(Command::List { format } | Command::Check { format, .. }) => Some(format),
        None => None,
    };
    let config = Config::from_cli(&cli.shared)?;
    let secrets = source::load(&config.fetch, &parent)?;
    let env = ChildEnv::build(&secrets, parent.iter().cloned(), &config.keep, config.pure);
    let mut out = std::io::stdout().lock();
    match cli.subcommand {
        Some(Command::List { .. }) => {
            list::print(&env, format.unwrap_or(OutputFormat::Text), &mut out)?;
            out.flush()?;
            Ok(0)
        }
        Some(Command::Check { probe, .. }) => {
            let mut report = validate::validate(&env, &config.rules);
            if probe {
                run_probes(&env, &config, &mut report);
            }
            let colour = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            check::print(
                &env,
                &report,
                format.unwrap_or(OutputFormat::Text),
                colour,
                &mut out,
            )?;
            out.flush()?;
            Ok(report.exit_status())
        }
        _ => {
            drop(out);
            let report = validate::validate(&env, &config.rules);
            let mut stderr = std::io::stderr().lock();
            for warning in &report.warnings {
                let _ = writeln!(stderr, "warning: {}", warning.message);
            }
            if !report.errors.is_empty() {
                let lines: Vec<String> = report
                    .errors
                    .iter()
                    .map(|f| format!("  {}", f.message))
                    .collect();
                return Err(Failure::new(
                    Kind::Invalid,
                    format!("validation failed, nothing was run:\n{}", lines.join("\n")),
                )
                .into());
            }
            drop(stderr);
            let program = exec::resolve(&cli.command[0], path.as_deref())?;
            exec::check_limits(&program, &cli.command, &env)?;
            // SAFETY: getpid has no preconditions.
            let pid1 = unsafe { libc::getpid() } == 1;
            if cli.redact || cli.init || cli.watch.is_some() || (pid1 && !cli.no_init) {
                let options = supervise_options(&cli, pid1)?;
                drop(env);
                let launch = supervise::Launch {
                    program: &program,
                    args: &cli.command,
                    config: &config,
                    parent: &parent,
                };
                return supervise::run(launch, secrets, hardening, options);
            }
            Err(exec::exec(&program, &cli.command, &env, hardening).into())
        }
    }
}

/// The supervise-mode options from the command line.
fn supervise_options(cli: &Cli, pid1: bool) -> Result<supervise::Options> {
    let duration = |flag: &str, text: &str| {
        duration::parse_duration(text).ok_or_else(|| {
            Failure::new(
                Kind::Config,
                format!("`{flag}` is not a duration such as `10s`"),
            )
        })
    };
    let kill_timeout = duration("--kill-timeout", &cli.kill_timeout)?;
    let watch = match &cli.watch {
        Some(every) => {
            let every = duration("--watch", every)?;
            if every.is_zero() {
                return Err(
                    Failure::new(Kind::Config, "`--watch` takes a duration above zero").into(),
                );
            }
            let signal = supervise::parse_signal(&cli.on_change_signal).ok_or_else(|| {
                Failure::new(
                    Kind::Config,
                    "`--on-change-signal` takes HUP, INT, QUIT, TERM, USR1, USR2 or WINCH",
                )
            })?;
            let on_change = match cli.on_change {
                cli::OnChange::Restart => supervise::OnChange::Restart,
                cli::OnChange::Signal => supervise::OnChange::Signal(signal),
            };
            Some(supervise::Watch { every, on_change })
        }
        None => None,
    };
    Ok(supervise::Options {
        kill_timeout,
        reap_all: pid1 || cli.init,
        redact: cli.redact,
        watch,
    })
}

/// Runs the probes for every detected key and adds what they found to the report,
/// counting the keys whose provider could not be asked.
fn run_probes(env: &ChildEnv, config: &Config, report: &mut Report) {
    // Kept as secret values, zeroed when dropped, all the way to the request.
    let values: Vec<(&str, SecretValue)> = env
        .vars
        .iter()
        .filter(|var| report.detected.contains_key(&var.name))
        .map(|var| {
            let value = var.value.as_os_str().to_string_lossy().into_owned();
            (var.name.as_str(), SecretValue::new(value))
        })
        .collect();
    let keys: Vec<(&str, &'static detectors::Detector, &str)> = values
        .iter()
        .map(|(name, value)| (*name, report.detected[*name], value.expose()))
        .collect();
    for (name, outcome) in validate::probe::run(&keys, config.fetch.timeout) {
        let finding = |message: String| Finding {
            names: vec![name.clone()],
            message,
        };
        match outcome {
            Outcome::Valid => {}
            Outcome::Limited(why) => report.warnings.push(finding(format!("`{name}`: {why}"))),
            Outcome::Invalid(why) => report.errors.push(finding(format!("`{name}`: {why}"))),
            Outcome::Unreachable(why) => {
                report.unprobed += 1;
                report
                    .warnings
                    .push(finding(format!("`{name}` could not be probed: {why}")));
            }
        }
    }
}
