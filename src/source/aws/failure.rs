//! How a Secrets Manager call failed, in secretrun's words: the service's error
//! codes and the SDK's failures become an exit kind and a sentence that says what to
//! do, never the SDK's debug text.

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

use crate::error::{Failure, Kind, chain};
use crate::escape::Escaped;
use crate::source::http::{self, LATE};
use crate::source::reference::RemoteRef;

/// The failure for an error code of Secrets Manager (in a batch answer), naming
/// the secret.
pub(super) fn code_failure(r: &RemoteRef, code: &str) -> Failure {
    let (kind, why) = code_words(code);
    with_code_hint(Failure::new(kind, format!("reading `{r}`: {why}")), code)
}

/// The failure for a call that failed, naming the secret, with what to do when the
/// service's error code says.
pub(super) fn call_failure<E>(r: &RemoteRef, e: &SdkError<E, HttpResponse>, shown: &str) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (kind, why) = classify(e, shown);
    let failure = Failure::new(kind, format!("reading `{r}`: {why}"));
    match e {
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) => with_code_hint(failure, code),
            None => failure,
        },
        _ => failure,
    }
}

/// What the user can do about an error code.
fn with_code_hint(failure: Failure, code: &str) -> Failure {
    let hint = match code {
        "ExpiredTokenException" => {
            "the session's credentials have expired: renew them (`aws sso login`, or a new \
             AWS_SESSION_TOKEN)"
        }
        c if is_denied(c) => {
            "the identity needs `secretsmanager:GetSecretValue` on the secret (and \
             `kms:Decrypt` on its KMS key when it has its own); `aws sts \
             get-caller-identity` names the identity"
        }
        "ResourceNotFoundException" => {
            "check the name and the region (AWS_REGION, the profile's region or `[aws] \
             region`): a secret lives in one region"
        }
        "DecryptionFailure" => "the identity needs `kms:Decrypt` on the secret's KMS key",
        "ThrottlingException" => crate::source::rest::THROTTLED_HINT,
        _ => return failure,
    };
    failure.with_hint(hint)
}

/// What an error code of Secrets Manager means, in the words every message uses.
pub(super) fn code_words(code: &str) -> (Kind, String) {
    match code {
        c if is_denied(c) => (Kind::Denied, format!("refused access ({c})")),
        "ResourceNotFoundException" => {
            (Kind::Config, "not found on AWS Secrets Manager".to_owned())
        }
        "DecryptionFailure" => (
            Kind::Config,
            "could not be decrypted with its KMS key (DecryptionFailure)".to_owned(),
        ),
        "ThrottlingException" => (
            Kind::Unreachable,
            "AWS Secrets Manager answered ThrottlingException (too many requests)".to_owned(),
        ),
        "InternalServiceError" => (Kind::Unreachable, format!("failed ({code}) after retries")),
        c => (Kind::Config, format!("failed ({})", Escaped(c))),
    }
}

pub(super) fn is_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDeniedException"
            | "AccessDenied"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "ExpiredTokenException"
            | "IncompleteSignature"
            | "IncompleteSignatureException"
            | "MissingAuthenticationToken"
            | "MissingAuthenticationTokenException"
    )
}

/// The kind and the words for a failed call (after "reading `REF`: "): denied,
/// unreachable (naming `shown`, where the calls go) or a configuration problem. An error code of the service is worded
/// as in a batch answer; the rest say what befell the call to the service. Messages
/// carry error codes and causes, never values.
pub(super) fn classify<E>(e: &SdkError<E, HttpResponse>, shown: &str) -> (Kind, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let SdkError::ServiceError(service) = e
        && let Some(code) = service.err().code()
    {
        return code_words(code);
    }
    match call_words(e) {
        // Where it could not be reached is what the user checks first.
        (Kind::Unreachable, what) => (
            Kind::Unreachable,
            format!("AWS Secrets Manager at `{shown}` {what}"),
        ),
        (kind, what) => (kind, format!("AWS Secrets Manager {what}")),
    }
}

/// What befell a call that did not bring back an error code.
pub(super) fn call_words<E>(e: &SdkError<E, HttpResponse>) -> (Kind, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(service) => {
            // An answer the SDK could not read a code from: go by the status.
            let status = service.raw().status().as_u16();
            let kind = http::status_kind(status);
            let what = if kind == Kind::Denied {
                "refused access"
            } else {
                "failed"
            };
            (kind, format!("{what} ({status})"))
        }
        SdkError::TimeoutError(_) => (Kind::Unreachable, LATE.to_owned()),
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            let text = chain(e);
            if text.contains("no credentials found in chain") {
                // The chain names each provider it asked.
                let asked = text.contains("Ec2InstanceMetadata")
                    && !text.to_ascii_lowercase().contains("disabled");
                let imds = if !asked {
                    "; the EC2 metadata service was not asked (this is not an EC2 instance, or AWS_EC2_METADATA_DISABLED is set)"
                } else {
                    ""
                };
                (
                    Kind::Config,
                    format!(
                        "could not be called: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                     AWS_PROFILE, a web identity token or container credentials{imds})"
                    ),
                )
            } else if text.contains("invalid header value") {
                (
                    Kind::Config,
                    "could not be called: a credential or setting holds a character that no \
                     HTTP header can carry"
                        .to_owned(),
                )
            } else if text.contains("credential") {
                (
                    Kind::Config,
                    format!(
                        "could not be called: the AWS credentials could not be loaded: {}",
                        text.replace('\n', " ")
                    ),
                )
            } else {
                (Kind::Unreachable, format!("is unreachable: {text}"))
            }
        }
        _ => (Kind::Config, format!("could not be called: {}", chain(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::config::http::HttpResponse;
    use aws_sdk_secretsmanager::error::ErrorMetadata;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
    use aws_smithy_types::body::SdkBody;

    fn service(status: u16, code: Option<&str>) -> SdkError<GetSecretValueError, HttpResponse> {
        let mut meta = ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(GetSecretValueError::generic(meta.build()), raw)
    }

    #[test]
    fn error_codes_have_one_meaning() {
        let kind = |code: &str| code_words(code).0;
        assert_eq!(kind("AccessDeniedException"), Kind::Denied);
        assert_eq!(kind("ExpiredTokenException"), Kind::Denied);
        assert_eq!(kind("ResourceNotFoundException"), Kind::Config);
        assert_eq!(kind("DecryptionFailure"), Kind::Config);
        assert_eq!(kind("ThrottlingException"), Kind::Unreachable);
        assert_eq!(kind("SomethingNew"), Kind::Config);
        // The batch answer and a single call word a code the same way.
        let r = RemoteRef::parse("aws-sm://app").unwrap().unwrap();
        for code in [
            "ResourceNotFoundException",
            "DecryptionFailure",
            "AccessDenied",
        ] {
            let (kind, why) = classify(&service(400, Some(code)), "h");
            let batch = code_failure(&r, code);
            assert_eq!(kind, batch.kind, "{code}");
            assert_eq!(format!("reading `{r}`: {why}"), batch.to_string(), "{code}");
        }
    }

    #[test]
    fn answers_without_a_code_go_by_status() {
        let (kind, why) = classify(&service(403, None), "h");
        assert_eq!(
            (kind, why.as_str()),
            (Kind::Denied, "AWS Secrets Manager refused access (403)")
        );
        assert_eq!(classify(&service(503, None), "h").0, Kind::Unreachable);
        assert_eq!(classify(&service(404, None), "h").0, Kind::Config);
    }

    #[test]
    fn a_timeout_is_late() {
        let e: SdkError<GetSecretValueError, HttpResponse> =
            SdkError::timeout_error(std::io::Error::other("slow"));
        let (kind, why) = classify(&e, "h");
        assert_eq!(kind, Kind::Unreachable);
        assert!(why.ends_with(LATE), "{why}");
    }

    #[test]
    fn a_code_is_escaped() {
        let (_, why) = code_words("Bad\u{1b}[31mCode");
        assert!(!why.contains('\u{1b}'), "{why:?}");
    }
}
