//! The one interface every store implements: fetch these references before this
//! deadline. Opening a store resolves its settings (no network yet); a build
//! without the store's cargo feature refuses its scheme there. Adding a store is a
//! file behind [`Store`] and a line in [`open`].

use futures_util::future::LocalBoxFuture;
use tokio::time::Instant;

use anyhow::Result;

#[cfg(not(all(feature = "vault", feature = "aws", feature = "azure", feature = "gcp")))]
use crate::error::{Kind, fail};
use crate::parent::ParentEnv;
use crate::source::Plan;
use crate::source::reference::{Answer, RemoteRef, Scheme};

/// One answer a reference: what the store returned for it, or why not.
pub type Answers = Vec<Result<Answer>>;

/// A store with its settings resolved, ready to fetch.
pub trait Store<'a> {
    /// Fetches every reference given (distinct, all of this store's scheme), as
    /// concurrently as the store allows, before the deadline. The answers come in
    /// the order of `refs`; an `Err` of the whole means the store could not be used
    /// at all (no login, no configuration).
    fn fetch(
        self: Box<Self>,
        refs: &'a [&'a RemoteRef],
        deadline: Instant,
    ) -> LocalBoxFuture<'a, Result<Answers>>;
}

/// Opens the store a scheme names. `notice` is told what the user should be warned
/// of (a setting that weakens security).
#[allow(unused_variables)] // in builds without every store
pub fn open<'a>(
    scheme: Scheme,
    plan: &'a Plan,
    env: ParentEnv<'a>,
    first: &RemoteRef,
    notice: &mut dyn FnMut(String),
) -> Result<Box<dyn Store<'a> + 'a>> {
    match scheme {
        #[cfg(feature = "vault")]
        Scheme::Vault => vault::open(plan, env, notice),
        #[cfg(not(feature = "vault"))]
        Scheme::Vault => missing("Vault", "vault", first),
        #[cfg(feature = "aws")]
        Scheme::AwsSm => aws::open(plan, env),
        #[cfg(not(feature = "aws"))]
        Scheme::AwsSm => missing("AWS", "aws", first),
        #[cfg(feature = "azure")]
        Scheme::AzureKv => Ok(Box::new(azure::Azure { env })),
        #[cfg(not(feature = "azure"))]
        Scheme::AzureKv => missing("Azure Key Vault", "azure", first),
        #[cfg(feature = "gcp")]
        Scheme::GcpSm => Ok(Box::new(gcp::Gcp { env })),
        #[cfg(not(feature = "gcp"))]
        Scheme::GcpSm => missing("Google Secret Manager", "gcp", first),
    }
}

/// The refusal of a store this build was made without.
#[cfg(not(all(feature = "vault", feature = "aws", feature = "azure", feature = "gcp")))]
fn missing<'a>(name: &str, feature: &str, r: &RemoteRef) -> Result<Box<dyn Store<'a> + 'a>> {
    fail(
        Kind::Config,
        format!("`{r}`: this build of secretrun has no {name} support (cargo feature `{feature}`)"),
    )
}

#[cfg(feature = "vault")]
mod vault {
    use super::*;
    use crate::source::vault::{Client, Requests, Settings};

    pub struct Vault {
        settings: Settings,
        read_dynamic: bool,
    }

    pub fn open<'a>(
        plan: &Plan,
        env: ParentEnv<'_>,
        notice: &mut dyn FnMut(String),
    ) -> Result<Box<dyn Store<'a> + 'a>> {
        let settings = Settings::resolve(&plan.vault, env)?;
        if settings.skip_verify {
            notice(
                "VAULT_SKIP_VERIFY is on: the Vault server's certificate is NOT verified; \
                 anyone on the path can read your secrets"
                    .to_owned(),
            );
        }
        Ok(Box::new(Vault {
            settings,
            read_dynamic: plan.read_dynamic,
        }))
    }

    impl<'a> Store<'a> for Vault {
        fn fetch(
            self: Box<Self>,
            refs: &'a [&'a RemoteRef],
            deadline: Instant,
        ) -> LocalBoxFuture<'a, Result<Answers>> {
            Box::pin(async move {
                // Several references are read at once; one is one request after another.
                let requests = if refs.len() > 1 {
                    Requests::AtOnce
                } else {
                    Requests::OneByOne
                };
                let client =
                    Client::connect(self.settings, self.read_dynamic, requests, deadline).await?;
                Ok(client.read_all(refs, deadline).await)
            })
        }
    }
}

#[cfg(feature = "aws")]
mod aws {
    use super::*;
    use crate::source::aws::{Client, FileSettings};

    pub struct Aws<'a> {
        file: &'a FileSettings,
        env: ParentEnv<'a>,
    }

    pub fn open<'a>(plan: &'a Plan, env: ParentEnv<'a>) -> Result<Box<dyn Store<'a> + 'a>> {
        Ok(Box::new(Aws {
            file: &plan.aws,
            env,
        }))
    }

    impl<'a> Store<'a> for Aws<'a> {
        fn fetch(
            self: Box<Self>,
            refs: &'a [&'a RemoteRef],
            deadline: Instant,
        ) -> LocalBoxFuture<'a, Result<Answers>> {
            Box::pin(async move {
                let client = Client::connect(self.file, self.env, deadline).await?;
                Ok(client.fetch(refs, deadline).await)
            })
        }
    }
}

#[cfg(feature = "azure")]
mod azure {
    use super::*;

    pub struct Azure<'a> {
        pub env: ParentEnv<'a>,
    }

    impl<'a> Store<'a> for Azure<'a> {
        fn fetch(
            self: Box<Self>,
            refs: &'a [&'a RemoteRef],
            deadline: Instant,
        ) -> LocalBoxFuture<'a, Result<Answers>> {
            Box::pin(async move { crate::source::azure::fetch(self.env, refs, deadline).await })
        }
    }
}

#[cfg(feature = "gcp")]
mod gcp {
    use super::*;

    pub struct Gcp<'a> {
        pub env: ParentEnv<'a>,
    }

    impl<'a> Store<'a> for Gcp<'a> {
        fn fetch(
            self: Box<Self>,
            refs: &'a [&'a RemoteRef],
            deadline: Instant,
        ) -> LocalBoxFuture<'a, Result<Answers>> {
            Box::pin(async move { crate::source::gcp::fetch(self.env, refs, deadline).await })
        }
    }
}
