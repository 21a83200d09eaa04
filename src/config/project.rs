//! Finding the project: `--config FILE`, else `secretrun.toml` in the current
//! directory or the nearest of its parents, as git and cargo find theirs. The walk
//! stops at the repository's root (a directory holding `.git`), at the home
//! directory, at the filesystem's root, and before a directory anyone may write to
//! (`/tmp`): a shared directory is no one's project. A file found in a parent
//! directory must belong to this user (or root): one another user left there is
//! refused, loudly, rather than obeyed.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::DEFAULT_CONFIG;
use crate::error::{Kind, fail};
use crate::escape::os;

/// Where the configuration came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Project {
    /// The config file read, if any.
    pub config: Option<PathBuf>,
    /// The directory its relative paths are taken from (empty: the current one).
    pub base: PathBuf,
    /// The directories looked in, nearest first, when no `--config` named one.
    pub looked: Vec<PathBuf>,
    /// Why the walk stopped where it did.
    pub stop: Stop,
}

/// Where the walk up the directories stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stop {
    /// `--config` named the file: no walk.
    #[default]
    Named,
    /// It found a `secretrun.toml`.
    Found,
    /// The repository's root (it holds `.git`).
    Repository,
    /// The home directory.
    Home,
    /// The filesystem's root.
    Root,
    /// A directory anyone may write to, not looked in.
    Shared,
}

impl Project {
    /// The config read, as a whole path.
    pub fn config_path(&self) -> Option<PathBuf> {
        let config = self.config.as_ref()?;
        Some(std::path::absolute(config).unwrap_or_else(|_| config.clone()))
    }

    /// A sentence for a report: which config, or that none was found and where.
    pub fn describe(&self) -> String {
        if let Some(config) = self.config_path() {
            return os(config.as_os_str()).to_string();
        }
        let looked: Vec<String> = self
            .looked
            .iter()
            .map(|d| os(d.as_os_str()).to_string())
            .collect();
        let end = match self.stop {
            Stop::Repository => ", the repository's root",
            Stop::Home => ", the home directory",
            Stop::Shared => " (not in the shared directory above)",
            Stop::Root | Stop::Named | Stop::Found => "",
        };
        match looked.as_slice() {
            [] => "none".to_owned(),
            [only] => format!("none found in {only}{end}"),
            [first, .., last] => format!("none found in {first} or its parents up to {last}{end}"),
        }
    }
}

/// Finds the config file: `named`, else the walk from `cwd`.
pub fn find(named: Option<&Path>, cwd: &Path, home: Option<&OsStr>) -> Result<Project> {
    if let Some(path) = named {
        return Ok(Project {
            config: Some(path.to_path_buf()),
            base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            looked: Vec::new(),
            stop: Stop::Named,
        });
    }
    let home = home.map(Path::new);
    let mut looked = Vec::new();
    for dir in cwd.ancestors() {
        if dir != cwd && shared(dir) {
            return Ok(Project {
                looked,
                stop: Stop::Shared,
                ..Project::default()
            });
        }
        looked.push(dir.to_path_buf());
        let candidate = dir.join(DEFAULT_CONFIG);
        if let Ok(meta) = std::fs::metadata(&candidate)
            && meta.is_file()
        {
            let here = dir == cwd;
            if !here {
                owned_by_us(&candidate, &meta)?;
            }
            return Ok(Project {
                // The current directory's is named as it always was: relative.
                config: Some(if here {
                    DEFAULT_CONFIG.into()
                } else {
                    candidate
                }),
                base: if here {
                    PathBuf::new()
                } else {
                    dir.to_path_buf()
                },
                looked,
                stop: Stop::Found,
            });
        }
        let stop = if dir.join(".git").exists() {
            Some(Stop::Repository)
        } else if Some(dir) == home {
            Some(Stop::Home)
        } else {
            None
        };
        if let Some(stop) = stop {
            return Ok(Project {
                looked,
                stop,
                ..Project::default()
            });
        }
    }
    Ok(Project {
        looked,
        stop: Stop::Root,
        ..Project::default()
    })
}

/// Whether anyone may write to the directory (others' write bit: `/tmp`).
fn shared(dir: &Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o002 != 0)
}

/// A config found above the current directory is obeyed only when this user (or
/// root) owns it.
fn owned_by_us(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    let owner = meta.uid();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if owner == me || owner == 0 {
        return Ok(());
    }
    fail(
        Kind::Config,
        format!(
            "found `{}` above the current directory, but another user owns it; not read \
             (run from the project's directory, or name the file with `--config`)",
            os(path.as_os_str())
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo/app/sub")).unwrap();
        dir
    }

    #[test]
    fn the_nearest_config_up_to_the_repository_root_wins() {
        let dir = tree();
        let repo = dir.path().join("repo");
        let sub = repo.join("app/sub");
        std::fs::create_dir(repo.join(".git")).unwrap();
        // Above the repository: never reached.
        std::fs::write(dir.path().join(DEFAULT_CONFIG), "").unwrap();
        let none = find(None, &sub, None).unwrap();
        assert_eq!(none.config, None);
        assert_eq!(none.stop, Stop::Repository);
        assert_eq!(none.looked, [sub.clone(), repo.join("app"), repo.clone()]);
        assert!(
            none.describe().ends_with("/repo, the repository's root"),
            "{}",
            none.describe()
        );

        std::fs::write(repo.join(DEFAULT_CONFIG), "").unwrap();
        let found = find(None, &sub, None).unwrap();
        assert_eq!(found.config, Some(repo.join(DEFAULT_CONFIG)));
        assert_eq!(found.base, repo);
        std::fs::write(sub.join(DEFAULT_CONFIG), "").unwrap();
        let here = find(None, &sub, None).unwrap();
        assert_eq!(here.config, Some(PathBuf::from(DEFAULT_CONFIG)));
        assert_eq!(here.base, PathBuf::new());
    }

    #[test]
    fn a_directory_anyone_may_write_to_is_not_looked_in() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tree();
        let shared = dir.path().join("repo");
        std::fs::write(shared.join(DEFAULT_CONFIG), "").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let none = find(None, &shared.join("app"), None).unwrap();
        assert_eq!((none.config, none.stop), (None, Stop::Shared));
        // From inside it, it is the current directory: read as always.
        let here = find(None, &shared, None).unwrap();
        assert_eq!(here.config, Some(PathBuf::from(DEFAULT_CONFIG)));
    }

    #[test]
    fn the_walk_stops_at_home() {
        let dir = tree();
        let home = dir.path().join("repo");
        std::fs::write(dir.path().join(DEFAULT_CONFIG), "").unwrap();
        let none = find(None, &home.join("app"), Some(home.as_os_str())).unwrap();
        assert_eq!((none.config, none.stop), (None, Stop::Home));
    }
}
