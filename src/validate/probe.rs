//! `check --probe`: prove keys work by asking their provider. Each detector kind may
//! have a probe; all probes of a check run concurrently under the one deadline.
//! Stripe: `GET /v1/balance` with the secret key (base URL overridable with
//! `SECRETRUN_STRIPE_API_BASE`, for tests). The key travels only in a header marked
//! sensitive; errors name the variable and the URL, never the key.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};

use crate::detectors::{Detector, KeyKind, Provider};

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

/// Runs every probe that applies to `keys` (name, detector, value) and returns the
/// outcomes by name, in the order given.
pub fn run(keys: &[(&str, &'static Detector, &str)], timeout: Duration) -> Vec<(String, Outcome)> {
    let probes: Vec<(&str, Probe, &str)> = keys
        .iter()
        .filter_map(|&(name, detector, value)| probe_for(detector).map(|p| (name, p, value)))
        .collect();
    if probes.is_empty() {
        return Vec::new();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
    let client = match reqwest::Client::builder()
        .timeout(timeout)
        .https_only(false)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            let why = format!("building the HTTP client: {e}");
            return probes
                .iter()
                .map(|(n, ..)| (n.to_string(), Outcome::Unreachable(why.clone())))
                .collect();
        }
    };
    let base =
        std::env::var("SECRETRUN_STRIPE_API_BASE").unwrap_or_else(|_| STRIPE_API_BASE.to_owned());
    let outcomes = runtime.block_on(async {
        let calls = probes.iter().map(|&(_, probe, value)| match probe {
            Probe::StripeBalance => stripe_balance(&client, &base, value),
        });
        tokio::time::timeout(timeout, futures_util::future::join_all(calls)).await
    });
    let outcomes = outcomes.unwrap_or_else(|_| {
        vec![
            Outcome::Unreachable(format!(
                "no answer within {}",
                crate::duration::show_duration(timeout)
            ));
            probes.len()
        ]
    });
    probes
        .iter()
        .map(|(name, ..)| name.to_string())
        .zip(outcomes)
        .collect()
}

async fn stripe_balance(client: &reqwest::Client, base: &str, key: &str) -> Outcome {
    let url = format!("{}/v1/balance", base.trim_end_matches('/'));
    let shown = crate::address::shown(&url);
    let mut bearer = zeroize::Zeroizing::new(String::with_capacity(7 + key.len()));
    bearer.push_str("Bearer ");
    bearer.push_str(key);
    let Ok(mut auth) = HeaderValue::from_str(&bearer) else {
        return Outcome::Invalid("the key cannot be sent in an HTTP header".to_owned());
    };
    auth.set_sensitive(true);
    let response = match client.get(&url).header(AUTHORIZATION, auth).send().await {
        Ok(response) => response,
        Err(e) => {
            return Outcome::Unreachable(format!(
                "asking Stripe at `{shown}`: {}",
                crate::error::chain(&e.without_url())
            ));
        }
    };
    match response.status().as_u16() {
        200 => Outcome::Valid,
        401 => Outcome::Invalid("Stripe rejected the key (401)".to_owned()),
        403 => Outcome::Limited(
            "Stripe accepted the key but it may not read the balance (403)".to_owned(),
        ),
        code => Outcome::Unreachable(format!("Stripe answered {code} at `{shown}`")),
    }
}
