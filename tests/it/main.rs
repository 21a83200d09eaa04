//! The one integration test binary: every test runs the real `secretrun` from the
//! outside, through the builder in `util`.

mod age;
mod aws;
mod aws_settings;
mod azure;
mod bao;
mod build;
mod cloud;
mod config;
mod conformance;
mod credentials;
mod django;
mod dotenv;
mod dotenvx;
mod edit;
mod features;
mod gcp;
mod launch;
mod leaks;
mod lease;
mod list;
mod messages;
mod moto;
mod postgres;
mod promises;
mod scan;
mod stub;
mod supervise;
mod terminal;
mod trace;
mod util;
mod validate;
mod vault;
mod vault_settings;
mod watch;
mod wheel;
