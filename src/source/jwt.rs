//! JSON Web Tokens signed with RS256, the one kind the stores' credential flows
//! ask a client to make: Azure's certificate client assertion and Google's
//! service-account JWT bearer grant. A leaf: keys in, compact JWTs out.
//!
//! Signed with aws-lc (through aws-lc-rs, already linked for TLS), whose RSA is
//! constant-time: the `rsa` crate carries an open advisory for a timing side channel
//! (RUSTSEC-2023-0071) and is kept only where age's ssh-rsa recipients need it.

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::Value;
use zeroize::Zeroizing;

/// An RSA private key that signs JWTs.
pub struct Signer {
    key: RsaKeyPair,
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
        if let Some(der) = key_der(pem, "PRIVATE KEY") {
            return RsaKeyPair::from_pkcs8(&der)
                .map(|key| Signer { key })
                .map_err(|_| "its PKCS #8 private key is not an RSA key, or is damaged");
        }
        if let Some(der) = key_der(pem, "RSA PRIVATE KEY") {
            return RsaKeyPair::from_der(&der)
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
        // PKCS #1 v1.5 needs no randomness (the same input signs the same); the
        // generator is asked for by the interface only.
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        let signed = self.key.sign(
            &RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            text.as_bytes(),
            &mut signature,
        );
        if signed.is_err() {
            signature.clear();
        }
        text.push('.');
        text.push_str(&b64url(&signature));
        text
    }
}

/// The DER of a private key's PEM block, in memory that is zeroed when dropped.
fn key_der(pem: &str, label: &str) -> Option<Zeroizing<Vec<u8>>> {
    pem_der(pem, label).map(Zeroizing::new)
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
    let mut body = Zeroizing::new(String::with_capacity(block.len()));
    for line in block.lines().filter(|l| !l.starts_with("-----")) {
        body.push_str(line.trim());
    }
    base64::engine::general_purpose::STANDARD
        .decode(&*body)
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

    /// Both PEM forms of a key sign, and what they sign verifies with the key's
    /// public half in another library (the `rsa` crate, a test dependency only).
    #[test]
    fn pkcs8_and_pkcs1_keys_sign_rs256_that_verifies() {
        use base64::Engine;
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::EncodePrivateKey;
        use sha2::{Digest, Sha256};
        let mut rng = rsa::rand_core::OsRng;
        let key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let armor = |label: &str, der: &[u8]| {
            let text = base64::engine::general_purpose::STANDARD.encode(der);
            let lines: Vec<&str> = text
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            format!(
                "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
                lines.join("\n")
            )
        };
        let pkcs8 = armor("PRIVATE KEY", key.to_pkcs8_der().unwrap().as_bytes());
        let pkcs1 = armor("RSA PRIVATE KEY", key.to_pkcs1_der().unwrap().as_bytes());
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        let claims = serde_json::json!({"iss": "a", "exp": 1});
        for pem in [pkcs8.as_str(), pkcs1.as_str()] {
            let jwt = Signer::from_pem(pem).unwrap().sign(&header, &claims);
            let (input, signature) = jwt.rsplit_once('.').unwrap();
            let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(signature)
                .unwrap();
            let digest = Sha256::digest(input.as_bytes());
            key.to_public_key()
                .verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
                .expect("the signature verifies");
        }
    }

    #[test]
    fn blocks_are_found_by_label() {
        let pem = "x\n-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\ny";
        assert_eq!(pem_der(pem, "CERTIFICATE").unwrap(), vec![0, 1, 2]);
        assert!(pem_block(pem, "PRIVATE KEY").is_none());
    }
}
