//! The subcommands: what secretrun does besides a launch.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::output::{FindingsFormat, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline without exec: load, validate, report. Exit 0 (warnings
    /// allowed) or 65.
    Check {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Prove the keys work by calling their providers (Stripe: GET /v1/balance).
        #[arg(long)]
        probe: bool,
        /// A value older than its `max_age` is an error, not a warning.
        #[arg(long)]
        strict: bool,
        /// Check secretrun's own environment, as a running app has it, instead of
        /// loading the sources (what `manage.py validate_secrets` runs).
        #[arg(long, conflicts_with = "from")]
        environment: bool,
        /// Read dynamic secrets too: each read creates credentials (a database
        /// user), revoked again before secretrun exits.
        #[arg(long)]
        read_dynamic: bool,
    },
    /// Explain one variable: every source that defines it, which one wins, its kind,
    /// the rules applied, how it is delivered, its age and verdict. Never its value.
    Explain {
        /// The variable.
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// What differs between two profiles, or two sources, without a value: names in
    /// one only, key kinds, live and test keys, a secret shared by both, rotation
    /// ages. Exit 1 on findings.
    Diff {
        /// Two profiles (or `--profile A --profile B`), or two sources (`.env.staging`,
        /// `vault://secret/staging`) read under the rules of `--profile` or the default
        /// profile; a name the config has as a profile is the profile.
        #[arg(value_name = "PROFILE|SOURCE", num_args = 0..=2)]
        sides: Vec<String>,
        #[arg(long, value_enum, default_value_t = FindingsFormat::Text)]
        format: FindingsFormat,
    },
    /// Show every variable the command would get: name, origin and masked value.
    List {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Read dynamic secrets too: each read creates credentials (a database
        /// user), revoked again before secretrun exits.
        #[arg(long)]
        read_dynamic: bool,
    },
    /// Find secrets in files: the values of the configured secrets (also base64,
    /// URL-encoded, JSON-escaped) and provider keys by their shape. Exit 1 when
    /// anything is found.
    Scan {
        /// Where to look (default `.`); with --staged or --history, the repository.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Scan what `git commit` would record (for a pre-commit hook).
        #[arg(long, conflicts_with = "history")]
        staged: bool,
        /// Scan every commit reachable from HEAD; each finding names its commit.
        #[arg(long)]
        history: bool,
        #[arg(long, value_enum, default_value_t = FindingsFormat::Text)]
        format: FindingsFormat,
        /// Scan hidden files and directories too.
        #[arg(long)]
        hidden: bool,
        /// Scan binary files too.
        #[arg(long)]
        binary: bool,
        /// Look for key shapes only: load no source (a CI job without the stores'
        /// credentials).
        #[arg(long, conflicts_with = "from")]
        no_values: bool,
    },
    /// Make an age identity: write it to FILE (default
    /// ~/.config/secretrun/identity.txt, never over an existing file) and print its
    /// public key, the recipient others encrypt to.
    Keygen {
        /// Where to write the identity; `-` prints it to standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print the public keys of an existing identity file instead.
        #[arg(
            short = 'y',
            long = "public",
            value_name = "IDENTITY",
            conflicts_with = "output"
        )]
        public: Option<PathBuf>,
    },
    /// Encrypt a dotenv file with age to the recipients (flags, else the config's
    /// `recipients`), writing FILE.age. The dotenv file is checked first.
    Encrypt {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        to: RecipientArgs,
        /// Where to write (default: FILE.age).
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// Write ASCII armor (PEM-like text) instead of binary.
        #[arg(short, long)]
        armor: bool,
    },
    /// Decrypt an age-encrypted file to standard output (never to a file).
    Decrypt {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Edit an age-encrypted dotenv file in $VISUAL/$EDITOR: the plain copy lives in
    /// a private directory in memory (tmpfs) and is removed on every exit.
    Edit {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        to: RecipientArgs,
    },
    /// Print a shell completion script to standard output.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write a starting secretrun.toml from the dotenv files here: each variable with
    /// the format its values show, `required` where the code reads it, a profile for
    /// each environment's file; add the dotenv files to .gitignore, write a
    /// .env.example without values. Never replaces a file without --force.
    Init {
        /// Replace secretrun.toml and .env.example when they exist.
        #[arg(long)]
        force: bool,
        /// Show what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the reference of the environment variables secretrun reads (Markdown:
    /// docs/environment.md).
    #[command(hide = true)]
    Environment,
    /// Print the man page (roff) to standard output: `secretrun manpage > secretrun.1`.
    #[command(hide = true)]
    Manpage,
}

/// Who a file is encrypted to.
#[derive(Debug, Args)]
pub struct RecipientArgs {
    /// A recipient: an `age1…` public key or an SSH public key (`ssh-ed25519 …`).
    #[arg(short = 'r', long = "recipient", value_name = "KEY")]
    pub recipients: Vec<String>,
    /// A file of recipients, one a line (as GitHub serves `https://github.com/USER.keys`).
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
}
