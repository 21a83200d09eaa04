//! The kernel's size limits, checked before exec, so that an oversized value is
//! named instead of surfacing as a bare E2BIG.

use std::ffi::OsString;
use std::path::Path;

use crate::env::ChildEnv;
use crate::error::{Failure, Kind};

/// The kernel's limit on one argument or environment string, NUL included
/// (MAX_ARG_STRLEN, 32 pages).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Checks what the kernel will refuse: a string over MAX_ARG_STRLEN, or all of argv
/// and the environment over ARG_MAX. Names the variables, never the values.
pub fn check_limits(program: &Path, args: &[OsString], env: &ChildEnv) -> Result<(), Failure> {
    let mut too_long: Vec<&str> = Vec::new();
    let mut total = program.as_os_str().len() + 1;
    for var in &env.vars {
        let size = var.name.len() + 1 + var.value.as_os_str().len() + 1;
        if size > MAX_ARG_STRLEN {
            too_long.push(&var.name);
        }
        total += size + size_of::<usize>();
    }
    if !too_long.is_empty() {
        return Err(Failure::new(
            Kind::Invalid,
            format!(
                "{} over the kernel's limit of 128 KiB per variable: {}",
                if too_long.len() == 1 {
                    "this value is"
                } else {
                    "these values are"
                },
                too_long
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    for (i, arg) in args.iter().enumerate() {
        if arg.len() + 1 > MAX_ARG_STRLEN {
            return Err(Failure::new(
                Kind::Invalid,
                format!("argument {i} of the command is over the kernel's limit of 128 KiB"),
            ));
        }
        total += arg.len() + 1 + size_of::<usize>();
    }
    total += 2 * size_of::<usize>();
    // SAFETY: sysconf has no preconditions.
    let arg_max = unsafe { libc::sysconf(libc::_SC_ARG_MAX) };
    if arg_max > 0 && total > arg_max as usize {
        let biggest = env
            .vars
            .iter()
            .max_by_key(|var| var.value.as_os_str().len())
            .map(|var| format!(" (the largest is `{}`)", var.name))
            .unwrap_or_default();
        return Err(Failure::new(
            Kind::Invalid,
            format!(
                "the command's arguments and environment take {} KiB, over the system's \
                 ARG_MAX of {} KiB{biggest}",
                total / 1024,
                arg_max / 1024
            ),
        ));
    }
    Ok(())
}
