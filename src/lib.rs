//! secretrun: load secrets, check them, and exec a command with a clean environment.
//! [`run`] is the whole flow of DESIGN.md; each step lives in its own module.

pub mod cli;
pub mod config;
pub mod env;
pub mod error;
pub mod escape;
pub mod exec;
pub mod list;
pub mod secret;
pub mod source;

use std::ffi::OsString;
use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::env::ChildEnv;
use crate::error::{Failure, Kind};

/// Runs what the command line asks. For a launch this returns only on failure; for
/// the subcommands it returns the exit status.
pub fn run(cli: Cli) -> Result<u8> {
    let hardening = exec::harden().context("disabling core dumps")?;
    let parent: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    match cli.subcommand {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "secretrun",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
        Some(Command::List { format }) => {
            let config = Config::from_cli(&cli.shared)?;
            let secrets = source::load(&config.sources)?;
            let env = ChildEnv::build(&secrets, parent, &config.keep, config.pure);
            check_required(&config, &env)?;
            let mut out = std::io::stdout().lock();
            list::print(&env, format, &mut out)?;
            out.flush()?;
            Ok(0)
        }
        None => {
            let config = Config::from_cli(&cli.shared)?;
            let path = parent
                .iter()
                .find(|(n, _)| n == "PATH")
                .map(|(_, v)| v.clone());
            let secrets = source::load(&config.sources)?;
            let env = ChildEnv::build(&secrets, parent, &config.keep, config.pure);
            check_required(&config, &env)?;
            let program = exec::resolve(&cli.command[0], path.as_deref())?;
            exec::check_limits(&program, &cli.command, &env)?;
            Err(exec::exec(&program, &cli.command, &env, hardening).into())
        }
    }
}

/// Every required name must be present and non-empty; all missing ones are named.
fn check_required(config: &Config, env: &ChildEnv) -> Result<(), Failure> {
    let missing: Vec<String> = config
        .require
        .iter()
        .filter(|name| {
            env.get(name)
                .is_none_or(|var| var.value.as_os_str().is_empty())
        })
        .map(|name| format!("`{name}`"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        Kind::Invalid,
        format!("required but missing or empty: {}", missing.join(", ")),
    ))
}
