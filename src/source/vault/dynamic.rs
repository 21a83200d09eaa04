//! Dynamic secrets: a database engine's `creds/ROLE` (a user made for this read,
//! under a lease) and `static-creds/ROLE` (a user Vault rotates, no lease), and the
//! lease store that renews and revokes what was read, with the token the read
//! used.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Client, Requests, Settings};
use crate::error::{Failure, Kind, fail};
use crate::lease::{Lease, LeaseStore, Leased};
use crate::secret::Dates;
use crate::source::reference::{Answer, Fetched, RemoteRef};

/// The fields every `creds/ROLE` answer of the database engine has: what a
/// reference not read (`check` without `--read-dynamic`) is named by.
const CREDS_FIELDS: &[&str] = &["username", "password"];

/// Which of a database engine's endpoints a reference reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    /// `creds/ROLE`: each read creates a user, under a lease.
    Creds,
    /// `static-creds/ROLE`: a user Vault rotates; reading creates nothing.
    StaticCreds,
}

/// The endpoint of a database engine mounted at `mount` that `r` reads, or why
/// references may not read there (its `config/` and `roles/` describe the engine,
/// they are not secrets).
fn endpoint(r: &RemoteRef, mount: &str) -> Result<Endpoint> {
    let rest = r
        .path
        .strip_prefix(mount.trim_end_matches('/'))
        .unwrap_or(&r.path)
        .trim_start_matches('/');
    let endpoint = match rest.split_once('/') {
        Some(("creds", role)) if !role.is_empty() && !role.contains('/') => Endpoint::Creds,
        Some(("static-creds", role)) if !role.is_empty() && !role.contains('/') => {
            Endpoint::StaticCreds
        }
        _ => {
            return fail(
                Kind::Config,
                format!(
                    "`{r}` is in a database secrets engine, where references read only \
                     `creds/ROLE` (a user made for this launch, leased) or `static-creds/ROLE`"
                ),
            );
        }
    };
    if r.version.is_some() {
        return fail(
            Kind::Config,
            format!("`{r}`: database credentials have no versions"),
        );
    }
    Ok(endpoint)
}

impl Client {
    /// Reads database credentials. `creds/` creates a user: unless the launch reads
    /// dynamic secrets, it is not read, and its fields are named with empty values.
    pub(super) async fn read_database(
        &self,
        r: &RemoteRef,
        mount: &str,
        deadline: Instant,
    ) -> Result<Answer> {
        let endpoint = endpoint(r, mount)?;
        if endpoint == Endpoint::Creds && !self.read_dynamic {
            let fields = CREDS_FIELDS
                .iter()
                .map(|f| ((*f).to_owned(), Value::String(String::new())))
                .collect();
            return Ok(Answer {
                fetched: Fetched::Object(fields),
                dates: Dates {
                    leased: Some(Leased::NotRead),
                    ..Dates::default()
                },
                lease: None,
            });
        }
        let mut doc = self.read_json(r, &r.path, deadline).await?;
        let lease = self.lease_of(r, &doc);
        let dates = Dates {
            // A user made by this read was created now.
            created: lease.as_ref().map(|_| crate::timestamp::now()),
            expires: None,
            leased: lease.as_ref().map(|l| Leased::Held {
                seconds: l.duration.as_secs(),
                renewable: l.renewable,
            }),
            version: None,
        };
        match doc.pointer_mut("/data").map(Value::take) {
            Some(Value::Object(map)) => Ok(Answer {
                fetched: Fetched::Object(map.into_iter().collect()),
                dates,
                lease,
            }),
            // Dropping `lease` revokes it.
            _ => fail(
                Kind::Unreachable,
                format!(
                    "reading `{r}` from Vault at `{}`: the answer has no data",
                    self.shown
                ),
            ),
        }
    }

    /// The lease an answer came with, if it has one (`lease_id` not empty).
    pub(super) fn lease_of(&self, r: &RemoteRef, doc: &Value) -> Option<Lease> {
        let id = doc.get("lease_id").and_then(Value::as_str)?;
        if id.is_empty() {
            return None;
        }
        let seconds = doc.get("lease_duration").and_then(Value::as_u64)?;
        let renewable = doc.get("renewable").and_then(Value::as_bool) == Some(true);
        Some(Lease::new(
            r.secret(),
            id.to_owned(),
            Duration::from_secs(seconds),
            renewable,
            self.leases.clone(),
        ))
    }
}

/// Renews and revokes leases as the token that read them, each call on a runtime of
/// its own (the supervisor's thread has none).
pub(super) struct VaultLeases {
    /// The settings of the read, with its token as the auth.
    pub(super) settings: Settings,
}

impl VaultLeases {
    /// One request, blocking. Inside a runtime (a lease dropped on an error path of
    /// a read) it runs on a thread of its own, since runtimes do not nest.
    fn call(&self, path: &str, body: Value, timeout: Duration, what: &str) -> Result<Value> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return std::thread::scope(|s| {
                s.spawn(|| self.call_here(path, body, timeout, what))
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("{what}: the request panicked")))
            });
        }
        self.call_here(path, body, timeout, what)
    }

    fn call_here(&self, path: &str, body: Value, timeout: Duration, what: &str) -> Result<Value> {
        let runtime = crate::source::rest::runtime()?;
        runtime.block_on(async {
            let deadline = Instant::now() + timeout;
            let client =
                Client::connect(self.settings.clone(), false, Requests::OneByOne, deadline).await?;
            let bytes = client
                .request(Method::PUT, path, Some(&body), deadline)
                .await
                .map_err(|e| client.failure(e, what))?;
            Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        })
    }
}

impl LeaseStore for VaultLeases {
    fn renew(&self, id: &str, increment: Duration, timeout: Duration) -> Result<Duration> {
        let body = json!({ "lease_id": id, "increment": increment.as_secs() });
        let answer = self.call("sys/leases/renew", body, timeout, "renewing a lease")?;
        match answer.get("lease_duration").and_then(Value::as_u64) {
            Some(seconds) => Ok(Duration::from_secs(seconds)),
            None => Err(Failure::new(
                Kind::Unreachable,
                "renewing a lease: Vault's answer has no `lease_duration`",
            )
            .into()),
        }
    }

    fn revoke(&self, id: &str, timeout: Duration) -> Result<()> {
        let body = json!({ "lease_id": id });
        self.call("sys/leases/revoke", body, timeout, "revoking a lease")
            .map(drop)
    }
}

/// The lease store of a client, sharing its settings.
pub(super) fn store(settings: Settings) -> Arc<dyn LeaseStore> {
    Arc::new(VaultLeases { settings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> RemoteRef {
        RemoteRef::parse(text).unwrap().unwrap()
    }

    #[test]
    fn only_creds_and_static_creds_are_read() {
        let at = |text: &str| endpoint(&r(text), "database/");
        assert_eq!(at("vault://database/creds/app").unwrap(), Endpoint::Creds);
        assert_eq!(
            at("vault://database/static-creds/app#password").unwrap(),
            Endpoint::StaticCreds
        );
        for refused in [
            "vault://database/config/pg",
            "vault://database/roles/app",
            "vault://database/creds",
            "vault://database/creds/app/more",
            "vault://database/creds/app?version=2",
        ] {
            let err = at(refused).unwrap_err();
            assert_eq!(crate::error::exit_code(&err), 78, "{refused}");
        }
    }
}
