//! A build without a store refuses its scheme with 78 and says which feature is
//! missing. These run in the build the test command makes with
//! `--no-default-features` (they are compiled out of the default build, where the
//! stores are there).

#[cfg(not(feature = "vault"))]
#[test]
fn without_the_vault_feature_vault_references_are_78() {
    crate::util::Test::new()
        .file(".env", "DB=vault://secret/db#password\n")
        .args(["--", "true"])
        .run()
        .status(78)
        .stderr_has("this build of secretrun has no Vault support (cargo feature `vault`)");
}

#[cfg(not(feature = "aws"))]
#[test]
fn without_the_aws_feature_aws_references_are_78() {
    crate::util::Test::new()
        .args(["--from", "aws-sm://prod/app", "--", "true"])
        .run()
        .status(78)
        .stderr_has("this build of secretrun has no AWS support (cargo feature `aws`)");
}

#[cfg(not(feature = "azure"))]
#[test]
fn without_the_azure_feature_azure_references_are_78() {
    crate::util::Test::new()
        .args(["--from", "azure-kv://my-vault/app", "--", "true"])
        .run()
        .status(78)
        .stderr_has(
            "this build of secretrun has no Azure Key Vault support (cargo feature `azure`)",
        );
}

#[cfg(not(feature = "gcp"))]
#[test]
fn without_the_gcp_feature_gcp_references_are_78() {
    crate::util::Test::new()
        .args(["--from", "gcp-sm://my-project/app", "--", "true"])
        .run()
        .status(78)
        .stderr_has(
            "this build of secretrun has no Google Secret Manager support (cargo feature `gcp`)",
        );
}
