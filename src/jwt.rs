//! JSON Web Tokens signed with RS256, the one kind the stores' credential flows
//! ask a client to make: Azure's certificate client assertion and Google's
//! service-account JWT bearer grant. A leaf: keys in, compact JWTs out.

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// An RSA private key that signs JWTs.
pub struct Signer {
    key: RsaPrivateKey,
}

/// Base64url without padding, as JWTs write everything.
pub fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Signer {
    /// The first private key of a PEM text: PKCS #8 (`BEGIN PRIVATE KEY`) or
    /// PKCS #1 (`BEGIN RSA PRIVATE KEY`). The error says which kind was missing,
    /// never any of the text.
    pub fn from_pem(pem: &str) -> Result<Signer, &'static str> {
        if let Some(block) = pem_block(pem, "PRIVATE KEY") {
            return RsaPrivateKey::from_pkcs8_pem(&block)
                .map(|key| Signer { key })
                .map_err(|_| "its PKCS #8 private key is not an RSA key, or is damaged");
        }
        if let Some(block) = pem_block(pem, "RSA PRIVATE KEY") {
            return RsaPrivateKey::from_pkcs1_pem(&block)
                .map(|key| Signer { key })
                .map_err(|_| "its RSA private key is damaged");
        }
        Err("it holds no unencrypted RSA private key (PEM)")
    }

    /// `header.claims.signature`, each base64url, signed with RS256.
    pub fn sign(&self, header: &Value, claims: &Value) -> Zeroizing<String> {
        let mut text = Zeroizing::new(format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        ));
        let digest = Sha256::digest(text.as_bytes());
        // PKCS #1 v1.5 needs no randomness: the same input signs the same.
        let signature = self
            .key
            .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
            .unwrap_or_default();
        text.push('.');
        text.push_str(&b64url(&signature));
        text
    }
}

/// The whole PEM block of this label (`-----BEGIN {label}-----` to its end).
pub fn pem_block(pem: &str, label: &str) -> Option<Zeroizing<String>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)?;
    let stop = pem[start..].find(&end)? + start + end.len();
    Some(Zeroizing::new(pem[start..stop].to_owned()))
}

/// The DER bytes of the first PEM block of this label.
pub fn pem_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let block = pem_block(pem, label)?;
    let body: String = block
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_says_so_without_the_text() {
        let err =
            Signer::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .err()
                .unwrap();
        assert_eq!(err, "it holds no unencrypted RSA private key (PEM)");
    }

    #[test]
    fn blocks_are_found_by_label() {
        let pem = "x\n-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\ny";
        assert_eq!(pem_der(pem, "CERTIFICATE").unwrap(), vec![0, 1, 2]);
        assert!(pem_block(pem, "PRIVATE KEY").is_none());
    }
}
