//! No core dumps while secretrun holds secrets: RLIMIT_CORE 0 and not dumpable
//! (which also keeps other processes of the same user from ptrace-attaching); the
//! limit found is kept to hand back to the command.

use std::io;

/// The core-dump limit we found, restored for the child just before exec.
pub struct SavedCoreLimit {
    core: rustix::process::Rlimit,
}

/// Turns off core dumps for as long as secretrun holds secrets.
pub fn harden() -> io::Result<SavedCoreLimit> {
    use rustix::process::{DumpableBehavior, Resource, Rlimit, getrlimit, setrlimit};
    let found = getrlimit(Resource::Core);
    let off = Rlimit {
        current: Some(0),
        maximum: found.maximum,
    };
    setrlimit(Resource::Core, off)?;
    rustix::process::set_dumpable_behavior(DumpableBehavior::NotDumpable)?;
    let core = found;
    Ok(SavedCoreLimit { core })
}

impl SavedCoreLimit {
    /// The core-dump limit secretrun found, for a child.
    pub fn core_limit(&self) -> rustix::process::Rlimit {
        self.core
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harden_turns_off_dumps() {
        use rustix::process::{DumpableBehavior, Resource};
        let saved = harden().unwrap();
        let dumpable = rustix::process::dumpable_behavior().unwrap();
        let core = rustix::process::getrlimit(Resource::Core).current;
        assert_eq!(dumpable, DumpableBehavior::NotDumpable);
        assert_eq!(core, Some(0));
        rustix::process::setrlimit(Resource::Core, saved.core).unwrap();
    }
}
