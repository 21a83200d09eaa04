//! `check --probe`: prove keys work by asking their provider. Each detector kind may
//! have a probe; all probes of a check run concurrently under the one deadline.
//! Stripe: `GET /v1/balance` with the secret key (base URL overridable with
//! `SECRETRUN_STRIPE_API_BASE`, for tests). The key travels only in a header marked
//! sensitive; errors name the variable and the URL, never the key.

use reqwest::header::AUTHORIZATION;

use super::{Finding, Report};
use crate::detectors::{Detector, KeyKind, Provider};
use crate::env::ChildEnv;
use crate::parent::ParentEnv;
use crate::secret::SecretValue;
use crate::source::http::{self, LATE, Roots};

const STRIPE_API_BASE: &str = "https://api.stripe.com";

/// What a probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The provider accepted the key.
    Valid,
    /// The provider accepted the key with a reservation (a restricted key that may
    /// not read what the probe asks for).
    Limited(String),
    /// The provider rejected the key.
    Invalid(String),
    /// The provider could not be asked.
    Unreachable(String),
}

/// A probe a detector kind has.
#[derive(Clone, Copy, Debug)]
enum Probe {
    StripeBalance,
}

fn probe_for(detector: &Detector) -> Option<Probe> {
    match (detector.provider, detector.kind) {
        (Provider::Stripe, KeyKind::SecretKey | KeyKind::RestrictedKey) => {
            Some(Probe::StripeBalance)
        }
        _ => None,
    }
}

/// Probes every detected key of the command's environment and adds what the
/// providers said to the report, counting the keys whose provider could not be
/// asked. The keys stay secret values, zeroed when dropped, up to the request.
pub fn probe_all(
    env: &ChildEnv,
    report: &mut Report,
    deadline: std::time::Instant,
    parent: ParentEnv<'_>,
) {
    // Where Stripe is: its API, unless the parent's environment names a stand-in.
    let stripe = parent("SECRETRUN_STRIPE_API_BASE")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| STRIPE_API_BASE.to_owned());
    let values: Vec<(&str, SecretValue)> = env
        .vars
        .iter()
        .filter(|var| report.detected.contains_key(&var.name))
        .map(|var| {
            let value = var.value.as_os_str().to_string_lossy().into_owned();
            (var.name.as_str(), SecretValue::new(value))
        })
        .collect();
    let keys: Vec<(&str, &'static Detector, &SecretValue)> = values
        .iter()
        .map(|(name, value)| (*name, report.detected[*name], value))
        .collect();
    for (name, outcome) in run(&keys, deadline, &stripe, parent) {
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

/// Runs every probe that applies to `keys` (name, detector, value), all at once,
/// on the shared HTTP client, until the launch's deadline; returns the outcomes by
/// name, in the order given.
fn run(
    keys: &[(&str, &'static Detector, &SecretValue)],
    deadline: std::time::Instant,
    base: &str,
    parent: ParentEnv<'_>,
) -> Vec<(String, Outcome)> {
    let probes: Vec<(&str, Probe, &SecretValue)> = keys
        .iter()
        .filter_map(|&(name, detector, value)| probe_for(detector).map(|p| (name, p, value)))
        .collect();
    if probes.is_empty() {
        return Vec::new();
    }
    let roots = Roots::for_address(base, http::cert_file(parent));
    let unreachable = |why: String| -> Vec<(String, Outcome)> {
        probes
            .iter()
            .map(|(n, ..)| (n.to_string(), Outcome::Unreachable(why.clone())))
            .collect()
    };
    let client = match http::builder(roots).build() {
        Ok(client) => client,
        Err(e) => return unreachable(format!("building the HTTP client: {e}")),
    };
    let runtime = match crate::source::rest::runtime() {
        Ok(runtime) => runtime,
        Err(e) => return unreachable(format!("starting the network runtime: {e}")),
    };
    let deadline = tokio::time::Instant::from_std(deadline);
    let outcomes = runtime.block_on(async {
        let calls = probes.iter().map(|&(_, probe, value)| match probe {
            Probe::StripeBalance => stripe_balance(&client, base, value, deadline),
        });
        tokio::time::timeout_at(deadline, futures_util::future::join_all(calls)).await
    });
    match outcomes {
        Ok(outcomes) => probes
            .iter()
            .map(|(name, ..)| name.to_string())
            .zip(outcomes)
            .collect(),
        Err(_) => unreachable(format!("Stripe {LATE}")),
    }
}

async fn stripe_balance(
    client: &reqwest::Client,
    base: &str,
    key: &SecretValue,
    deadline: tokio::time::Instant,
) -> Outcome {
    let url = format!("{}/v1/balance", base.trim_end_matches('/'));
    let shown = crate::source::address::shown(&url);
    let Some(auth) = crate::source::rest::credential_header(Some("Bearer"), key.expose()) else {
        return Outcome::Invalid("the key cannot be sent in an HTTP header".to_owned());
    };
    // The stores' exchange: throttling and server errors are retried with backoff,
    // a redirect is not followed, the answer is bounded, all within the deadline.
    let make = || client.get(&url).header(AUTHORIZATION, auth.clone());
    let status = match http::exchange(make, crate::source::rest::RETRY, deadline).await {
        Ok(answer) => answer.status,
        Err(http::HttpError::Status(status)) => status,
        Err(http::HttpError::Unreachable(why)) => {
            return Outcome::Unreachable(format!("asking Stripe at `{shown}`: {why}"));
        }
    };
    match status.as_u16() {
        200 => Outcome::Valid,
        401 => Outcome::Invalid("Stripe rejected the key (401)".to_owned()),
        403 => Outcome::Limited(
            "Stripe accepted the key but it may not read the balance (403)".to_owned(),
        ),
        code => Outcome::Unreachable(format!("Stripe answered {code} at `{shown}`")),
    }
}
