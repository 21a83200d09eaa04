//! AWS Secrets Manager: the SDK's own conventions (the default credential chain,
//! AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_SECRETS_MANAGER], AWS_MAX_ATTEMPTS,
//! AWS_RETRY_MODE), then `[aws]` in the config. Secrets are fetched with
//! BatchGetSecretValue, twenty a call, calls concurrent; a pinned stage or version
//! goes through GetSecretValue. The SDK has no operation timeout by default: the one
//! deadline is set on every call.
//!
//! Off EC2, the credential and region chains would end by asking the instance
//! metadata service, which nobody answers: a launch would wait for its timeouts.
//! secretrun leaves it out of them unless the machine says it is an EC2 instance
//! (or the user set `AWS_EC2_METADATA_DISABLED` themselves).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;
use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::config::SharedHttpClient;
use serde::Deserialize;
use tokio::time::Instant;

use crate::error::{Failure, Kind, chain, fail};
use crate::parent::ParentEnv;
use crate::secret::{Dates, SecretValue, Version};

use crate::source::http::{LATE, throttled_pause, throttled_retries};
use crate::source::reference::{Answer, Fetched, RemoteRef};
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use failure::{call_failure, code_failure};

mod failure;

/// BatchGetSecretValue takes at most twenty secret ids.
const BATCH: usize = 20;

/// `[aws]` in secretrun.toml. The AWS environment variables beat these.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint: Option<String>,
}

/// Whether this machine is an EC2 instance, from what the hypervisor tells the
/// kernel (no network).
fn on_ec2() -> bool {
    use crate::source::rest::firmware;
    firmware("sys_vendor").contains("amazon")
        || firmware("board_asset_tag").starts_with("i-")
        || std::fs::read_to_string("/sys/hypervisor/uuid").is_ok_and(|id| id.starts_with("ec2"))
}

/// Off EC2 the SDK's default chains end by asking the instance metadata service,
/// which nobody answers there: a launch would wait for its timeouts. There, the
/// loader gets the same chains without it (environment, profile, web identity,
/// container credentials; region from the environment or the profile), configured
/// here rather than by setting `AWS_EC2_METADATA_DISABLED` in secretrun's own
/// environment. On an EC2 instance, or when the user set that variable themselves
/// (the SDK reads it), the defaults stay.
async fn without_metadata_service(
    loader: aws_config::ConfigLoader,
    file: &FileSettings,
    env: ParentEnv<'_>,
    http: SharedHttpClient,
) -> aws_config::ConfigLoader {
    use aws_config::ecs::EcsCredentialsProvider;
    use aws_config::environment::{
        EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
    };
    use aws_config::meta::{credentials::CredentialsProviderChain, region::RegionProviderChain};
    use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};
    use aws_config::provider_config::ProviderConfig;
    use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
    if env("AWS_EC2_METADATA_DISABLED").is_some() || on_ec2() {
        return loader;
    }
    let conf = ProviderConfig::without_region().with_http_client(http);
    let mut region_in_profile = ProfileFileRegionProvider::builder().configure(&conf);
    let mut profile = ProfileFileCredentialsProvider::builder();
    if let Some(name) = file_profile(file, env) {
        region_in_profile = region_in_profile.profile_name(name);
        profile = profile.profile_name(name);
    }
    let region = match file_region(file, env) {
        Some(region) => Some(aws_config::Region::new(region.to_owned())),
        None => {
            RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
                .or_else(region_in_profile.build())
                .region()
                .await
        }
    };
    // Assuming a role (a profile's, a web identity's) asks STS in that region.
    let conf = conf.with_region(region.clone());
    let credentials = CredentialsProviderChain::first_try(
        "Environment",
        EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else("Profile", profile.configure(&conf).build())
    .or_else(
        "WebIdentityToken",
        WebIdentityTokenCredentialsProvider::builder()
            .configure(&conf)
            .build(),
    )
    .or_else(
        "EcsContainer",
        EcsCredentialsProvider::builder().configure(&conf).build(),
    );
    loader.region(region).credentials_provider(credentials)
}

/// A credential that no HTTP header can carry would fail deep in the SDK as a
/// "dispatch failure"; name it instead.
fn check_credentials(env: ParentEnv<'_>) -> Result<()> {
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        if env(name).is_some_and(|v| v.chars().any(char::is_control)) {
            return fail(
                Kind::Config,
                format!(
                    "`{name}` holds a newline or another control character, which no HTTP \
                     header can carry (a trailing newline from a file or a paste?)"
                ),
            );
        }
    }
    Ok(())
}

/// Whether the parent's environment sets any of these, not empty: an AWS setting
/// there beats `[aws]`, and the user's retry settings beat secretrun's.
fn any_set(env: ParentEnv<'_>, names: &[&str]) -> bool {
    names
        .iter()
        .any(|name| env(name).is_some_and(|v| !v.is_empty()))
}

/// `[aws] profile`, unless the environment names one (`AWS_PROFILE`).
fn file_profile<'f>(file: &'f FileSettings, env: ParentEnv<'_>) -> Option<&'f str> {
    let by_env = any_set(env, &["AWS_PROFILE"]);
    file.profile.as_deref().filter(|_| !by_env)
}

/// `[aws] region`, unless the environment names one (`AWS_REGION`,
/// `AWS_DEFAULT_REGION`).
fn file_region<'f>(file: &'f FileSettings, env: ParentEnv<'_>) -> Option<&'f str> {
    let by_env = any_set(env, &["AWS_REGION", "AWS_DEFAULT_REGION"]);
    file.region.as_deref().filter(|_| !by_env)
}

/// The config file's `[aws]` profile, region and endpoint, each where the
/// environment sets none; an endpoint only when the user trusts its origin.
fn with_file_settings(
    mut loader: aws_config::ConfigLoader,
    file: &FileSettings,
    env: ParentEnv<'_>,
) -> Result<aws_config::ConfigLoader> {
    if let Some(profile) = file_profile(file, env) {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = file_region(file, env) {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    if let Some(endpoint) = &file.endpoint
        && !any_set(
            env,
            &["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"],
        )
    {
        // Every request carries the access key id and any session token: a
        // project's file may not send them to a host the user did not choose.
        if !crate::source::address::is_trusted(
            endpoint,
            env("SECRETRUN_TRUSTED_ORIGINS").as_deref(),
        ) {
            return fail(
                Kind::Config,
                format!(
                    "the config file sets the AWS `endpoint` `{}`; a project's file may \
                     not decide where your AWS credentials are sent. If this is your \
                     endpoint, trust it in your environment: {} (or set \
                     AWS_ENDPOINT_URL yourself)",
                    crate::source::address::shown(endpoint),
                    crate::source::address::trust_hint(endpoint)
                ),
            );
        }
        loader = loader.endpoint_url(endpoint);
    }
    Ok(loader)
}

/// Each reference's answer in a batch's output: its secret, its error, or neither
/// (which the service should never send).
fn answers_of_batch(
    refs: &[&RemoteRef],
    chunk: &[usize],
    output: aws_sdk_secretsmanager::operation::batch_get_secret_value::BatchGetSecretValueOutput,
) -> Vec<Result<Answer>> {
    let errors: HashMap<String, (String, String)> = output
        .errors
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            let code = e.error_code.unwrap_or_default();
            let message = e.message.unwrap_or_default();
            (e.secret_id.unwrap_or_default(), (code, message))
        })
        .collect();
    let mut entries = output.secret_values.unwrap_or_default();
    chunk
        .iter()
        .map(|&i| {
            let r = refs[i];
            let id = r.path.as_str();
            if let Some((code, _)) = errors.get(id) {
                return Err(code_failure(r, code).into());
            }
            let found = entries.iter().position(|e| {
                e.name.as_deref() == Some(id)
                    || e.arn.as_deref() == Some(id)
                    || (id.starts_with("arn:")
                        && e.arn.as_deref().is_some_and(|arn| arn.starts_with(id)))
            });
            match found {
                Some(at) => {
                    let entry = entries.swap_remove(at);
                    into_answer(
                        r,
                        entry.secret_string,
                        entry.secret_binary,
                        (entry.created_date, entry.version_id),
                    )
                }
                None => fail(
                    Kind::Config,
                    format!("reading `{r}`: AWS Secrets Manager returned neither it nor an error"),
                ),
            }
        })
        .collect()
}

/// A Secrets Manager client, configured.
pub struct Client {
    sm: aws_sdk_secretsmanager::Client,
    /// Whether calls are sent again while Secrets Manager throttles them, beyond the
    /// SDK's own attempts: not when the user chose the SDK's retries.
    outer_retries: bool,
    /// Where it sends its calls, for messages.
    shown: String,
}

impl Client {
    pub async fn connect(
        file: &FileSettings,
        env: ParentEnv<'_>,
        deadline: Instant,
    ) -> Result<Client> {
        check_credentials(env)?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let http = http_client(env)?;
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http.clone())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(remaining)
                    .connect_timeout(remaining.min(Duration::from_secs(3)))
                    .build(),
            );
        let loader = with_file_settings(loader, file, env)?;
        let loader = without_metadata_service(loader, file, env, http).await;
        let config = match tokio::time::timeout_at(deadline, loader.load()).await {
            Ok(config) => config,
            Err(_) => {
                return fail(
                    Kind::Unreachable,
                    "loading the AWS configuration did not finish before the deadline",
                );
            }
        };
        if config.region().is_none() {
            return fail(
                Kind::Config,
                "no AWS region: set AWS_REGION, a profile's region, or `[aws] region`",
            );
        }
        // Where the calls go: the service's own endpoint variable, the general one
        // (or the config's, for a trusted origin), else the region's.
        let shown = env("AWS_ENDPOINT_URL_SECRETS_MANAGER")
            .filter(|v| !v.is_empty())
            .or_else(|| config.endpoint_url().map(str::to_owned))
            .unwrap_or_else(|| {
                let region = config.region().map_or("", |r| r.as_ref());
                format!("https://secretsmanager.{region}.amazonaws.com")
            });
        let chosen = any_set(env, &["AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"]);
        Ok(Client {
            sm: aws_sdk_secretsmanager::Client::new(&config),
            outer_retries: !chosen,
            shown: crate::source::address::shown(&shown),
        })
    }

    /// Fetches every reference; the answer is in the order given.
    pub async fn fetch(&self, refs: &[&RemoteRef], deadline: Instant) -> Vec<Result<Answer>> {
        let (pinned, current): (Vec<usize>, Vec<usize>) =
            (0..refs.len()).partition(|&i| refs[i].stage.is_some() || refs[i].version_id.is_some());
        let batches = current
            .chunks(BATCH)
            .map(|chunk| self.batch(refs, chunk, deadline));
        let singles = pinned.iter().map(|&i| self.single(refs[i], deadline));
        let (batches, singles) = futures_util::future::join(
            futures_util::future::join_all(batches),
            futures_util::future::join_all(singles),
        )
        .await;
        let mut results: Vec<Option<Result<Answer>>> = (0..refs.len()).map(|_| None).collect();
        for (chunk, answers) in current.chunks(BATCH).zip(batches) {
            for (&i, answer) in chunk.iter().zip(answers) {
                results[i] = Some(answer);
            }
        }
        for (&i, answer) in pinned.iter().zip(singles) {
            results[i] = Some(answer);
        }
        results
            .into_iter()
            .map(|r| r.expect("every reference answered"))
            .collect()
    }

    async fn batch(
        &self,
        refs: &[&RemoteRef],
        chunk: &[usize],
        deadline: Instant,
    ) -> Vec<Result<Answer>> {
        let ids: Vec<String> = chunk.iter().map(|&i| refs[i].path.clone()).collect();
        let call = || {
            self.sm
                .batch_get_secret_value()
                .set_secret_id_list(Some(ids.clone()))
                .send()
        };
        let output = match self.through_throttling(call, deadline).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => {
                return chunk
                    .iter()
                    .map(|&i| Err(call_failure(refs[i], &e, &self.shown).into()))
                    .collect();
            }
            Err(_) => {
                return chunk
                    .iter()
                    .map(|&i| {
                        fail(
                            Kind::Unreachable,
                            format!("reading `{}`: AWS Secrets Manager {LATE}", refs[i]),
                        )
                    })
                    .collect();
            }
        };
        answers_of_batch(refs, chunk, output)
    }

    /// Makes the call, and makes it again while Secrets Manager throttles it
    /// (`ThrottlingException` after the SDK's own attempts), after full jitter, up
    /// to [`throttled_retries`] times and while the deadline allows (never when the
    /// user chose the SDK's retries: [`Client::outer_retries`]): a fleet
    /// starting at once gets through as it does with the other stores. `Err` when
    /// the deadline passed before any answer; the last throttling answer when the
    /// deadline passed while the call was made again.
    async fn through_throttling<T, E, F, Fut>(
        &self,
        call: F,
        deadline: Instant,
    ) -> Result<Result<T, SdkError<E, HttpResponse>>, tokio::time::error::Elapsed>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata,
    {
        let mut throttled = 0;
        let mut last = None;
        let limit = match self.outer_retries {
            true => throttled_retries(deadline),
            false => 0,
        };
        loop {
            let outcome = match tokio::time::timeout_at(deadline, call()).await {
                Ok(outcome) => outcome,
                // Still throttled when the deadline came: that is the answer.
                Err(elapsed) => return last.ok_or(elapsed),
            };
            let is_throttled = matches!(&outcome, Err(SdkError::ServiceError(e))
                if e.err().code() == Some("ThrottlingException"));
            let pause = is_throttled
                .then(|| throttled_pause(throttled, limit, None, deadline))
                .flatten();
            let Some(pause) = pause else {
                return Ok(outcome);
            };
            last = Some(outcome);
            tokio::time::sleep(pause).await;
            throttled += 1;
        }
    }

    async fn single(&self, r: &RemoteRef, deadline: Instant) -> Result<Answer> {
        let call = || {
            self.sm
                .get_secret_value()
                .secret_id(&r.path)
                .set_version_stage(r.stage.clone())
                .set_version_id(r.version_id.clone())
                .send()
        };
        match self.through_throttling(call, deadline).await {
            Ok(Ok(output)) => into_answer(
                r,
                output.secret_string,
                output.secret_binary,
                (output.created_date, output.version_id),
            ),
            Ok(Err(e)) => Err(call_failure(r, &e, &self.shown).into()),
            Err(_) => fail(
                Kind::Unreachable,
                format!("reading `{r}`: AWS Secrets Manager {LATE}"),
            ),
        }
    }
}

/// The answer for one secret: its text, and when this version was created (Secrets
/// Manager records no expiry; rotation schedules are the secret's, not the
/// version's).
fn into_answer(
    r: &RemoteRef,
    text: Option<String>,
    binary: Option<aws_sdk_secretsmanager::primitives::Blob>,
    (created, version): (
        Option<aws_sdk_secretsmanager::primitives::DateTime>,
        Option<String>,
    ),
) -> Result<Answer> {
    let dates = Dates {
        created: created.map(|at| at.secs()),
        expires: None,
        leased: None,
        version: version.as_deref().and_then(Version::new),
    };
    let fetched = match (text, binary) {
        (Some(text), _) => Ok(Fetched::from_text(text)),
        (None, Some(blob)) => match String::from_utf8(blob.into_inner()) {
            Ok(text) => Ok(Fetched::from_text(text)),
            Err(e) => {
                drop(SecretValue::new(
                    String::from_utf8_lossy(e.as_bytes()).into_owned(),
                ));
                fail(
                    Kind::Invalid,
                    format!("`{r}` is a binary secret that is not UTF-8 text"),
                )
            }
        },
        (None, None) => fail(Kind::Config, format!("`{r}` has no value")),
    }?;
    Ok(Answer {
        fetched,
        dates,
        lease: None,
    })
}

/// The SDK's HTTPS client (rustls with aws-lc), trusting the system's CA bundle read
/// as one file rather than file by file.
fn http_client(env: ParentEnv<'_>) -> Result<SharedHttpClient> {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    let Some(pem) =
        crate::source::http::system_roots_pem(crate::source::http::cert_file(env).as_deref())
    else {
        return Ok(SharedHttpClient::new(Unvalidated(builder.build_https())));
    };
    let context = TlsContext::builder()
        .with_trust_store(
            TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(pem.to_vec()),
        )
        .build()
        .map_err(|e| {
            Failure::new(
                Kind::Config,
                format!("the system's CA bundle: {}", chain(&e)),
            )
        })?;
    let client = builder.tls_context(context).build_https();
    Ok(SharedHttpClient::new(Unvalidated(client)))
}

/// The SDK's client without its eager self-check. Every SDK client asks its HTTP client
/// to validate itself when it is made, and the rustls client does so by building a
/// connector: parsing the whole CA bundle. aws-config makes an STS client for web
/// identity even where none is configured, so a launch parsed the bundle twice before
/// its first request (perf: a fifth of a launch that fails for want of credentials).
/// The connector is built at the first request instead; a bundle that does not parse
/// fails that request, which fails the launch.
#[derive(Debug)]
struct Unvalidated(SharedHttpClient);

impl aws_smithy_runtime_api::client::http::HttpClient for Unvalidated {
    fn http_connector(
        &self,
        settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}
