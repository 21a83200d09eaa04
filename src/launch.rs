//! A launch: the secrets prepared and validated, then the command run with them:
//! exec, or supervise when asked or when a lease needs secretrun to stay as the
//! command's parent (the lease policy is here).

use anyhow::Result;

use crate::config;
use crate::error::{Failure, Kind};
use crate::exec;
use crate::messages;
use crate::prepare::Pipeline;
use crate::secret;
use crate::supervise;

/// Prepares the secrets and runs the command with them, when they pass validation:
/// exec, or supervise. A leased secret keeps secretrun as the command's parent, to
/// renew the lease and revoke it at the end, unless `--exec`.
pub fn launch(
    pipeline: &Pipeline,
    command: &[std::ffi::OsString],
    how: &config::Launching,
    core: exec::SavedCoreLimit,
) -> Result<u8> {
    // From here on, a way out before the command runs drops the leases: revoked.
    let secrets = pipeline.load()?;
    let mut env = pipeline.env(&secrets);
    let report = pipeline.validate(&env);
    for warning in &report.warnings {
        messages::warning(&warning.message);
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
    let program = exec::resolve(&command[0], pipeline.path())?;
    let keep_parent = lease_keeps_parent(&secrets, how)? || files_keep_parent(pipeline)?;
    if !how.supervise && !keep_parent {
        // Held open until the exec, which hands them on.
        let _files = crate::deliver::deliver(&mut env, pipeline.files())?;
        exec::check_limits(&program, command, &env)?;
        // An exec that works never comes back, and leaves the leases as they are;
        // one that fails returns, and the leases are revoked on the way out.
        return Err(exec::exec(&program, command, &env, core).into());
    }
    exec::check_limits(&program, command, &env)?;
    drop(env);
    let launch = supervise::Launch {
        program: &program,
        args: command,
        secrets: std::sync::Arc::new(pipeline.clone()),
    };
    supervise::run(launch, secrets, core, &how.options)
}

/// Whether the files make secretrun stay as the command's parent: where memory
/// files are refused, they are put on a tmpfs, and someone must remove them when
/// the command exits. With neither, the launch stops here, before anything runs.
fn files_keep_parent(pipeline: &Pipeline) -> Result<bool> {
    if pipeline.files().is_empty() {
        return Ok(false);
    }
    match crate::deliver::memory_files_work() {
        Ok(()) => Ok(false),
        Err(why) if !crate::deliver::tmpfs::available() => {
            Err(crate::deliver::tmpfs::neither(&why).into())
        }
        Err(why) => {
            messages::warning(&format!(
                "memory files are refused here ({why}): the files go on a tmpfs, and \
                 secretrun stays as the command's parent to remove them when it exits"
            ));
            Ok(true)
        }
    }
}

/// Whether the leases make secretrun stay as the command's parent. `--exec` says
/// no (with a warning: the lease expires on its own); `--no-init` as PID 1 asks
/// for an exec without saying so about leases, and is refused; `--watch` would
/// read new credentials every interval, and is refused.
fn lease_keeps_parent(secrets: &secret::SecretSet, how: &config::Launching) -> Result<bool> {
    let Some(first) = secrets.leases().first() else {
        return Ok(false);
    };
    let source = &first.source;
    if how.options.watch.is_some() {
        return Err(Failure::new(
            Kind::Config,
            format!(
                "`{source}` is leased: --watch reads every source again on its interval, \
                 which would make new credentials each time; a lease is renewed instead, \
                 without --watch"
            ),
        )
        .into());
    }
    if how.supervise {
        // Supervised anyway (`--redact`, `--init`): no exec was asked for.
        return Ok(true);
    }
    match how.exec_asked {
        Some("--exec") => {
            for lease in secrets.leases() {
                messages::warning(&format!(
                    "`{}` is leased, and with --exec nothing renews or revokes the lease: \
                     the credentials stop working when it expires, in {}s",
                    lease.source,
                    lease.duration.as_secs()
                ));
            }
            Ok(false)
        }
        Some(flag) => Err(Failure::new(
            Kind::Config,
            format!(
                "`{source}` is leased: secretrun stays as the command's parent to renew the \
                 lease and revoke it when the command ends, and {flag} asks for an exec \
                 instead; drop {flag}, or give --exec to exec anyway (the lease then \
                 expires on its own)"
            ),
        )
        .into()),
        None => Ok(true),
    }
}
