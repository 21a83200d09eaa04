//! Every environment variable secretrun reads, in one table: the reference in
//! `docs/environment.md` is generated from it (`secretrun environment`, hidden), and
//! a test holds that the table names every variable the code reads and that the
//! document is the table's. A leaf module.

/// One variable secretrun reads, and what for.
pub struct EnvVar {
    pub name: &'static str,
    pub what: &'static str,
}

/// The variables, by group: the group's title and its variables.
pub const GROUPS: &[(&str, &[EnvVar])] = &[
    ("secretrun's own", SECRETRUN),
    ("HashiCorp Vault and OpenBao", VAULT),
    ("AWS Secrets Manager", AWS),
    ("Azure Key Vault", AZURE),
    ("Google Secret Manager", GOOGLE),
    ("Encrypted dotenv files", ENCRYPTED),
    ("The platforms and the system", SYSTEM),
];

macro_rules! vars {
    ($($name:literal => $what:literal,)*) => {
        &[$(EnvVar { name: $name, what: $what },)*]
    };
}

const SECRETRUN: &[EnvVar] = vars! {
    "SECRETRUN_CONFIG" => "The config file, as `--config`.",
    "SECRETRUN_PROFILE" => "The profile, as `--profile`; never passed to the command.",
    "SECRETRUN_EXPECT" => "`live` or `test`: the keys expected, as `--expect`.",
    "SECRETRUN_TIMEOUT" => "The deadline for all fetching, as `--timeout` (`10s`).",
    "SECRETRUN_TRUSTED_ORIGINS" => "Origins (comma separated) a project's config may send your store credentials to, besides the defaults.",
    "SECRETRUN_AGE_IDENTITY" => "An age identity file, after `--identity` and the config's.",
    "SECRETRUN_DOCKER_SECRETS" => "The directory `docker-secrets` reads (default `/run/secrets`).",
    "SECRETRUN_GCP_ENDPOINT" => "Secret Manager's endpoint (a regional or private one).",
    "SECRETRUN_STRIPE_API_BASE" => "Where `check --probe` asks Stripe (a test stand-in).",
    "SECRETRUN_VAULT_AUTH" => "The Vault auth method: `token`, `approle`, `kubernetes`, `jwt`.",
    "SECRETRUN_VAULT_AUTH_MOUNT" => "Where that auth method is mounted.",
    "SECRETRUN_VAULT_ROLE" => "The role to log in as (Kubernetes, JWT).",
    "SECRETRUN_VAULT_JWT_FILE" => "The JWT file for Kubernetes or JWT login.",
    "SECRETRUN_EDITOR" => "Set by `edit` for the editor it starts; not read from you.",
};

const VAULT: &[EnvVar] = vars! {
    "VAULT_ADDR" => "The server (`BAO_ADDR` too); default `https://127.0.0.1:8200`.",
    "VAULT_TOKEN" => "The token (`BAO_TOKEN` too), else `~/.vault-token`.",
    "VAULT_NAMESPACE" => "The namespace (`BAO_NAMESPACE` too).",
    "VAULT_CACERT" => "A CA file to trust (`BAO_CACERT` too).",
    "VAULT_CAPATH" => "A directory of CA files (`BAO_CAPATH` too).",
    "VAULT_CLIENT_CERT" => "A client certificate for TLS (`BAO_CLIENT_CERT` too).",
    "VAULT_CLIENT_KEY" => "Its key (`BAO_CLIENT_KEY` too).",
    "VAULT_TLS_SERVER_NAME" => "The name to check the server's certificate against (`BAO_TLS_SERVER_NAME` too).",
    "VAULT_SKIP_VERIFY" => "Skip the certificate check (`BAO_SKIP_VERIFY` too); warned about.",
    "VAULT_MAX_RETRIES" => "Retries of a failed request.",
    "VAULT_CLIENT_TIMEOUT" => "The longest one request may take.",
    "VAULT_ROLE_ID" => "AppRole's role id (or `VAULT_ROLE_ID_FILE`).",
    "VAULT_ROLE_ID_FILE" => "A file holding it.",
    "VAULT_SECRET_ID" => "AppRole's secret id (or `VAULT_SECRET_ID_FILE`).",
    "VAULT_SECRET_ID_FILE" => "A file holding it.",
    "BAO_ADDR" => "OpenBao's name for `VAULT_ADDR`.",
    "BAO_TOKEN" => "OpenBao's name for `VAULT_TOKEN`.",
    "BAO_NAMESPACE" => "OpenBao's name for `VAULT_NAMESPACE`.",
    "BAO_CACERT" => "OpenBao's name for `VAULT_CACERT`.",
    "BAO_CAPATH" => "OpenBao's name for `VAULT_CAPATH`.",
    "BAO_CLIENT_CERT" => "OpenBao's name for `VAULT_CLIENT_CERT`.",
    "BAO_CLIENT_KEY" => "OpenBao's name for `VAULT_CLIENT_KEY`.",
    "BAO_TLS_SERVER_NAME" => "OpenBao's name for `VAULT_TLS_SERVER_NAME`.",
    "BAO_SKIP_VERIFY" => "OpenBao's name for `VAULT_SKIP_VERIFY`.",
};

const AWS: &[EnvVar] = vars! {
    "AWS_REGION" => "The region (or `AWS_DEFAULT_REGION`, or the profile's).",
    "AWS_DEFAULT_REGION" => "The region, when `AWS_REGION` is not set.",
    "AWS_ACCESS_KEY_ID" => "Static credentials, with `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`).",
    "AWS_SECRET_ACCESS_KEY" => "Their secret.",
    "AWS_SESSION_TOKEN" => "A session's token.",
    "AWS_PROFILE" => "The profile of `~/.aws/config` and `~/.aws/credentials`.",
    "AWS_ENDPOINT_URL" => "Every AWS service's endpoint (a stand-in, a VPC endpoint).",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER" => "Secrets Manager's endpoint.",
    "AWS_MAX_ATTEMPTS" => "The SDK's attempts; set, secretrun adds no retries of its own.",
    "AWS_RETRY_MODE" => "The SDK's retry mode; the same.",
    "AWS_EC2_METADATA_DISABLED" => "Never ask the EC2 metadata service.",
};

const AZURE: &[EnvVar] = vars! {
    "AZURE_TENANT_ID" => "The tenant of a service principal or workload identity.",
    "AZURE_CLIENT_ID" => "The application (client) id.",
    "AZURE_CLIENT_SECRET" => "A client secret.",
    "AZURE_CLIENT_CERTIFICATE_PATH" => "A client certificate (PEM or PKCS#12).",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD" => "Its password.",
    "AZURE_FEDERATED_TOKEN_FILE" => "Workload identity's token file.",
    "AZURE_FEDERATED_TOKEN" => "Workload identity's token itself.",
    "AZURE_AUTHORITY_HOST" => "Entra ID's host (a sovereign cloud).",
    "IDENTITY_ENDPOINT" => "App Service's managed identity endpoint (with `IDENTITY_HEADER`).",
    "IDENTITY_HEADER" => "Its header.",
    "MSI_ENDPOINT" => "The older name of `IDENTITY_ENDPOINT`.",
    "MSI_SECRET" => "The older name of `IDENTITY_HEADER`.",
};

const GOOGLE: &[EnvVar] = vars! {
    "GOOGLE_APPLICATION_CREDENTIALS" => "A credentials file: a service account key, an external account, a user login.",
    "GOOGLE_CLOUD_PROJECT" => "The project, for a reference that names none.",
    "CLOUDSDK_CONFIG" => "gcloud's configuration directory (its user login), default `~/.config/gcloud`.",
    "GCE_METADATA_HOST" => "The metadata server, asked on Google Cloud or when this is set.",
    "GOOGLE_GHA_CREDS" => "Never read as a secret file (`--from-file-vars`).",
};

const ENCRYPTED: &[EnvVar] = vars! {
    "DOTENV_PRIVATE_KEY" => "dotenvx's private key(s) for `.env` (`DOTENV_PRIVATE_KEY_PRODUCTION` for `.env.production`, …).",
    "DOTENV_PRIVATE_KEY_CI" => "The same, for `.env.ci`: each file its own suffix.",
    "DOTENV_PUBLIC_KEY" => "Read from the dotenv file, not the environment: which key opens it.",
    "XDG_CONFIG_HOME" => "Where the default age identity is (`secretrun/identity.txt`).",
    "XDG_RUNTIME_DIR" => "The memory file system `edit` decrypts into.",
};

const SYSTEM: &[EnvVar] = vars! {
    "HOME" => "`~/.vault-token`, `~/.aws`, `~/.config`; never the project's to set.",
    "PATH" => "Where COMMAND is found (secretrun's own, never the child's).",
    "NO_COLOR" => "No colour in `check`'s report.",
    "CREDENTIALS_DIRECTORY" => "systemd's credentials, for `systemd-creds`.",
    "SSL_CERT_FILE" => "The system's CA bundle, when it names it.",
    "TERM" => "Passed to the command; a pty's type in supervise mode.",
};

/// The reference, as `docs/environment.md` holds it.
pub fn reference() -> String {
    let mut text = String::from(
        "# Environment variables\n\n\
         Every variable secretrun reads, generated from the table in `src/envvars.rs` \
         (`secretrun environment > docs/environment.md`; a test holds the two equal). \
         None of them is passed to the command unless `--keep` names it exactly: the \
         names below that start with a protected prefix are the credentials and settings \
         secretrun fetches with, and a glob never passes them.\n\n\
         Protected prefixes: ",
    );
    let prefixes: Vec<String> = crate::names::PROTECTED_PREFIXES
        .iter()
        .map(|p| format!("`{p}`"))
        .collect();
    text.push_str(&prefixes.join(", "));
    text.push_str(".\n");
    for (group, vars) in GROUPS {
        text.push_str(&format!(
            "\n## {group}\n\n| variable | what it does |\n| --- | --- |\n"
        ));
        for var in *vars {
            let protected = if crate::names::is_protected(var.name) {
                " (protected)"
            } else {
                ""
            };
            text.push_str(&format!("| `{}`{protected} | {} |\n", var.name, var.what));
        }
    }
    text
}
