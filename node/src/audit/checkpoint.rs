//! Signed checkpoints: signing a checkpoint with the node's TLS key and
//! checking the signature against its certificate.
//!
//! The signature covers [`SIGNATURE_CONTEXT`] and the canonical JSON of the
//! entry without hash and signature, so that it cannot be replayed for
//! another purpose and survives re-hashing only if the entry is unchanged.
//! Someone who can write the database but not read the key cannot forge a
//! cut.

use std::fmt;

use rustls::SignatureScheme;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::SIGNATURE_CONTEXT;
use super::chain::{canonical_json, hex, sha256, unhex_any};
use super::record::Signature;

/// Signs checkpoints with the node's TLS key.
pub struct CheckpointSigner {
    signer: Box<dyn rustls::sign::Signer>,
    certificate_sha256: String,
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("scheme", &self.signer.scheme())
            .field("certificate_sha256", &self.certificate_sha256)
            .finish()
    }
}

/// The schemes a checkpoint may be signed with (TLS 1.3 ones: one key type
/// and hash each), with the matching verification algorithm.
fn schemes() -> [(
    SignatureScheme,
    &'static dyn rustls::pki_types::SignatureVerificationAlgorithm,
); 4] {
    [
        (SignatureScheme::ED25519, webpki::ring::ED25519),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            webpki::ring::ECDSA_P256_SHA256,
        ),
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            webpki::ring::ECDSA_P384_SHA384,
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        ),
    ]
}

impl CheckpointSigner {
    /// A signer from the node's certificate and private key (PEM).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> std::result::Result<Self, String> {
        let cert = CertificateDer::from_pem_slice(cert_pem)
            .map_err(|e| format!("certificate: not a PEM certificate ({e})"))?;
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| format!("key: not a PEM private key ({e})"))?;
        let key = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| format!("key: {e}"))?;
        let offered: Vec<SignatureScheme> = schemes().iter().map(|(s, _)| *s).collect();
        let signer = key
            .choose_scheme(&offered)
            .ok_or_else(|| "key: no supported signature scheme for its type".to_string())?;
        Ok(CheckpointSigner {
            signer,
            certificate_sha256: hex(&sha256(cert.as_ref())),
        })
    }

    /// Reads the certificate and key files.
    pub fn from_files(
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> std::result::Result<Self, String> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))
        };
        CheckpointSigner::from_pem(&read(cert)?, &read(key)?)
    }

    pub(super) fn sign(&self, entry: &serde_json::Value) -> std::result::Result<Signature, String> {
        let value = self
            .signer
            .sign(&signed_message(entry))
            .map_err(|e| format!("signing the checkpoint: {e}"))?;
        Ok(Signature {
            scheme: format!("{:?}", self.signer.scheme()),
            certificate_sha256: self.certificate_sha256.clone(),
            value: hex(&value),
        })
    }
}

/// What a checkpoint's signature covers: the context, then the canonical
/// JSON of the entry without `hash` and `signature`.
fn signed_message(entry: &serde_json::Value) -> Vec<u8> {
    let mut entry = entry.clone();
    if let Some(object) = entry.as_object_mut() {
        object.remove("hash");
        object.remove("signature");
    }
    let mut message = SIGNATURE_CONTEXT.to_vec();
    message.extend_from_slice(canonical_json(&entry).as_bytes());
    message
}

/// Checks `entry`'s signature against `cert_der`. `Err` says what is wrong.
pub(super) fn check_signature(
    entry: &serde_json::Value,
    cert_der: &[u8],
) -> std::result::Result<(), String> {
    let signature: Signature = match entry.get("signature") {
        None | Some(serde_json::Value::Null) => return Err("it is not signed".into()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| format!("its signature is unreadable ({e})"))?,
    };
    let fingerprint = hex(&sha256(cert_der));
    if signature.certificate_sha256 != fingerprint {
        return Err(format!(
            "it names the certificate sha256:{}, not the one given (sha256:{fingerprint})",
            signature.certificate_sha256
        ));
    }
    let Some((_, algorithm)) = schemes()
        .into_iter()
        .find(|(s, _)| format!("{s:?}") == signature.scheme)
    else {
        return Err(format!("unknown signature scheme {:?}", signature.scheme));
    };
    let value = unhex_any(&signature.value).ok_or("its signature is not hex")?;
    let cert = CertificateDer::from(cert_der.to_vec());
    let cert = webpki::EndEntityCert::try_from(&cert)
        .map_err(|e| format!("the certificate is unusable ({e})"))?;
    cert.verify_signature(algorithm, &signed_message(entry), &value)
        .map_err(|_| "its signature does not verify with the node's certificate".to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::chain::{Head, chain_hash, unhex};
    use crate::audit::test_support::*;
    use crate::audit::{Damage, HEAD_KEY};

    #[test]
    fn a_forged_and_rehashed_checkpoint_fails_only_the_signature_check() {
        let (_db, log) = bounded_log(Some(5), None);
        let (cert, signer) = identity();
        log.set_signer(Some(signer));
        fill(&log, 12);
        // The forger cuts two more entries and rewrites the checkpoint and
        // every entry after it, and the head, with correct hashes.
        let entries = log.entries().unwrap();
        let at = entries
            .iter()
            .rposition(|e| e.checkpoint.is_some())
            .unwrap();
        let mut forged = entries[at].clone();
        let mut cut = forged.checkpoint.clone().unwrap();
        let hidden = &entries[..at];
        assert!(hidden.len() >= 2, "{entries:?}");
        cut.pruned_through = hidden[1].seq;
        cut.last_pruned_hash = hidden[1].hash.clone();
        forged.checkpoint = Some(cut);
        for e in &hidden[..2] {
            log.tree().remove(e.seq.to_be_bytes()).unwrap();
        }
        let mut prev = unhex(&forged.prev).unwrap();
        let mut rewritten = vec![forged];
        rewritten.extend(entries[at + 1..].iter().cloned());
        for e in &mut rewritten {
            e.prev = hex(&prev);
            e.hash = String::new();
            let hash = chain_hash(&prev, &serde_json::to_value(&*e).unwrap());
            e.hash = hex(&hash);
            log.tree()
                .insert(e.seq.to_be_bytes(), serde_json::to_vec(&*e).unwrap())
                .unwrap();
            prev = hash;
        }
        let count = rewritten.last().unwrap().seq + 1;
        log.head
            .insert(
                HEAD_KEY,
                serde_json::to_vec(&Head {
                    count,
                    hash: hex(&prev),
                    checkpoint: Some(entries[at].seq),
                })
                .unwrap(),
            )
            .unwrap();
        // Without the certificate the forgery is a consistent chain…
        assert!(log.verify().unwrap().is_intact());
        // …with it, the signature no longer matches.
        let broken = log.verify_with(Some(&cert)).unwrap().broken.unwrap();
        assert_eq!(
            (broken.seq, broken.damage),
            (entries[at].seq, Damage::Altered)
        );
        assert!(
            broken.detail.contains("signature does not verify"),
            "{broken:?}"
        );
    }
}
