//! Chains: from a signer's certificate through intermediates to a trust anchor, each
//! signature verified with its issuer's key, each issuer allowed to sign certificates.

use time::OffsetDateTime;

use super::{check_validity, CertError, CertificateInfo, Parsed};

/// Builds and checks a chain from `leaf` through `intermediates` to one of `anchors` (all
/// DER): names chain, each signature verifies with its issuer's key, every certificate
/// (the anchor too) is valid at `at`, issuers are CAs allowed to sign certificates, path
/// length constraints hold. Returns the path, leaf first and anchor last.
pub fn verify_chain(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    anchors: &[Vec<u8>],
    at: OffsetDateTime,
) -> Result<Vec<CertificateInfo>, CertError> {
    let leaf = Parsed::new(leaf)?;
    // An unreadable intermediate cannot be on any path: skip it rather than fail.
    let intermediates: Vec<_> = intermediates
        .iter()
        .filter_map(|d| Parsed::new(d).ok())
        .collect();
    let anchors = anchors
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Parsed::new(d).map_err(|e| CertError::Chain(format!("trust anchor {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let path = build_path(&leaf, &intermediates, &anchors)?;
    let infos = path
        .iter()
        .map(|c| c.info())
        .collect::<Result<Vec<_>, _>>()?;
    for info in &infos {
        check_validity(info, at)?;
    }
    check_issuers(&path, &infos)?;
    Ok(infos)
}

/// Longest path `verify_chain` builds (leaf and anchor included).
const MAX_PATH: usize = 10;

/// Walks from `leaf` up by issuer name and signature until a trust anchor is reached.
/// Anchors are tried before intermediates; when no candidate verifies, the error names
/// the first certificate that had the right name but the wrong key, if any.
fn build_path<'p, 'a>(
    leaf: &'p Parsed<'a>,
    intermediates: &'p [Parsed<'a>],
    anchors: &'p [Parsed<'a>],
) -> Result<Vec<&'p Parsed<'a>>, CertError> {
    let mut path = vec![leaf];
    while path.len() < MAX_PATH {
        let current = path[path.len() - 1];
        if anchors.iter().any(|a| a.der == current.der) {
            return Ok(path);
        }
        let (anchor, anchor_failure) = find_issuer(current, anchors, &path, "trust anchor");
        if let Some(anchor) = anchor {
            path.push(anchor);
            return Ok(path);
        }
        let (issuer, issuer_failure) =
            find_issuer(current, intermediates, &path, "intermediate certificate");
        match (issuer, anchor_failure.or(issuer_failure)) {
            (Some(issuer), _) => path.push(issuer),
            (None, Some(failure)) => return Err(CertError::Chain(failure)),
            (None, None) => {
                return Err(CertError::Chain(format!(
                    "{} does not lead to a trusted root: its issuer {} is neither a trust anchor nor among the intermediate certificates",
                    current.subject(),
                    current.issuer()
                )))
            }
        }
    }
    Err(CertError::Chain(format!(
        "no trusted root within {MAX_PATH} certificates of {}",
        leaf.subject()
    )))
}

/// The certificate among `candidates` named as `child`'s issuer whose key verifies the
/// signature of `child` (and is not on the path yet), or why a name match failed.
fn find_issuer<'p, 'a>(
    child: &Parsed<'a>,
    candidates: &'p [Parsed<'a>],
    path: &[&Parsed<'a>],
    role: &str,
) -> (Option<&'p Parsed<'a>>, Option<String>) {
    let named = candidates
        .iter()
        .filter(|c| c.issued(child) && !path.iter().any(|p| p.der == c.der));
    let mut failure = None;
    for candidate in named {
        match candidate.verifies(child) {
            Ok(()) => return (Some(candidate), None),
            Err(reason) => {
                failure = failure.or(Some(format!(
                    "the signature of {} does not verify with the key of {role} {}: {reason}",
                    child.subject(),
                    candidate.subject()
                )))
            }
        }
    }
    (None, failure)
}

/// Every certificate above the leaf must be allowed to sign certificates, and each CA's
/// path length constraint must hold for the intermediates below it.
fn check_issuers(path: &[&Parsed<'_>], infos: &[CertificateInfo]) -> Result<(), CertError> {
    for (i, (cert, info)) in path.iter().zip(infos).enumerate().skip(1) {
        let is_anchor = i == path.len() - 1;
        if !is_anchor && !info.is_ca {
            return Err(CertError::Chain(format!(
                "intermediate certificate {} is not a CA certificate (basicConstraints cA is not set)",
                info.subject
            )));
        }
        let key_usage = cert.key_usage()?;
        if key_usage.is_some_and(|ku| !ku.key_cert_sign()) {
            return Err(CertError::Chain(format!(
                "{} may not sign certificates (its key usage lacks keyCertSign)",
                info.subject
            )));
        }
        let constraint = cert.basic_constraints()?;
        if let Some(max) = constraint.and_then(|bc| bc.path_len_constraint) {
            if i - 1 > max as usize {
                return Err(CertError::Chain(format!(
                    "{} allows at most {max} intermediate CA certificates below it, the path has {}",
                    info.subject,
                    i - 1
                )));
            }
        }
    }
    Ok(())
}
