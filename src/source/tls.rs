//! The system's trust store, read fast. The default loaders read the distribution's
//! CA bundle and then every file of `/etc/ssl/certs` (some 150 files, about 4 ms a
//! launch); where the distribution keeps one bundle file, reading just that file
//! gives the same roots.

use std::path::PathBuf;

/// Where distributions keep their bundle of trusted roots.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The PEM text of the system's CA bundle (`SSL_CERT_FILE` first, as OpenSSL does),
/// or `None` where there is no bundle file and the default loader must do.
pub fn system_bundle_pem() -> Option<Vec<u8>> {
    std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain(BUNDLES.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .and_then(|path| std::fs::read(path).ok())
        .filter(|pem| pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----"))
}
