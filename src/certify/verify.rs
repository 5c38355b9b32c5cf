//! Verification of the signatures in a PDF: byte range, CMS signature, certificate
//! validity at signing time, key usage, chain to trust anchors, and changes appended
//! after signing. Results in English and Vietnamese.

use lopdf::{Dictionary, Document, Object};
use serde::Serialize;
use sha2::Digest;
use time::OffsetDateTime;

use super::certificate;
use super::cms;
use super::revisions::{self, Level, Modifications, Policy};
use super::revocation::{self, crl, ocsp};
use super::timestamp;

/// What the verifier trusts.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Trust anchors (DER certificates). Without any, chains are not checked.
    pub trust_anchors: Vec<Vec<u8>>,
    /// Validate as of this time, from the evidence in the document only (default: now).
    /// A signature without a timestamp must then have a certificate valid at this time;
    /// a timestamp's authority must be valid at it unless a later document timestamp
    /// renews it.
    pub at: Option<OffsetDateTime>,
}

/// The verdict on one signature.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    /// Name of the signature field.
    pub field: String,
    /// `signature`, or `document_timestamp` (an RFC 3161 token over the file, PAdES
    /// B-LTA).
    pub kind: String,
    /// The `/SubFilter`: `ETSI.CAdES.detached` (PAdES), `adbe.pkcs7.detached` (Adobe),
    /// `ETSI.RFC3161` (document timestamp).
    pub sub_filter: String,
    /// Weaknesses that do not make it invalid (a SHA-1 digest).
    pub warnings: Vec<String>,
    /// Subject of the signer's certificate.
    pub signer: String,
    /// Signing time from `/M`, RFC 3339.
    pub signed_at: Option<String>,
    /// PAdES baseline level: `B-B`, or `B-T` with a valid signature timestamp.
    pub level: String,
    /// The signature timestamp's time (the time-stamping authority's), RFC 3339.
    pub timestamp: Option<String>,
    /// The time-stamping authority's certificate.
    pub timestamp_authority: Option<String>,
    /// The timestamp's authority chains to a trust anchor (true without anchors).
    pub timestamp_trusted: bool,
    /// The signer's revocation status from evidence in the document (`good`, `revoked`,
    /// `unknown`), with its source; `null` when the document holds none.
    pub revocation: Option<Revocation>,
    #[serde(skip)]
    evidence_invalid: bool,
    /// SHA-1 was used: intact or not, the signature cannot be valid.
    #[serde(skip)]
    weak: bool,
    /// Where the signed revision ends.
    #[serde(skip)]
    revision_end: usize,
    /// Its timestamp's authority is not valid at the validation time: only a later
    /// valid document timestamp keeps it valid.
    #[serde(skip)]
    needs_renewal: bool,
    /// Signature algorithm.
    pub algorithm: String,
    /// The byte range covers the whole file except the signature itself.
    pub covers_whole_document: bool,
    /// Bytes were appended after the signed revision (see `modifications`).
    pub modified_after_signing: bool,
    /// What the later revisions changed: `none`, `allowed` (further signatures,
    /// validation data, form filling) or `disallowed` (only this makes it invalid).
    pub modifications: Level,
    /// The later revisions' changes, in English.
    pub changes: Vec<String>,
    /// The certificate chains to a trust anchor (false when none was given).
    pub chain_trusted: bool,
    /// The signature and the digest of the signed bytes check out.
    pub cryptographically_valid: bool,
    /// The certificate was valid at signing time, with a suitable key usage.
    pub certificate_ok: bool,
    /// Everything above that is required holds.
    pub valid: bool,
    /// What is wrong, in English.
    pub errors: Vec<String>,
}

/// A revocation status and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Revocation {
    /// `good`, `revoked` or `unknown`.
    pub status: String,
    /// `embedded` (the document's DSS).
    pub source: String,
    /// When the responder produced it, RFC 3339.
    pub produced_at: Option<String>,
}

/// The verdict on a file.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// True only when there is at least one signature and every one is valid (intact,
    /// certificate fine, no forbidden change); says nothing about trust.
    pub valid: bool,
    /// Valid, and every signer chains to a trust anchor (never without anchors).
    pub trusted: bool,
    /// `trusted`, `untrusted` (intact, but no trust anchor reaches a signer) or `invalid`.
    pub outcome: &'static str,
    /// One entry per signature.
    pub signatures: Vec<SignatureReport>,
    /// Summary in Vietnamese.
    pub message_vi: String,
    /// Summary in English.
    pub message_en: String,
}

/// Verifies every signature of `pdf`. Never fails: an unreadable file is reported invalid.
pub fn verify_pdf(pdf: &[u8], options: &VerifyOptions) -> VerifyReport {
    let mut signatures: Vec<SignatureReport> = match Document::load_mem(pdf) {
        Ok(doc) => {
            let found = signature_dictionaries(&doc);
            if found.is_empty() && doc.is_encrypted() {
                return summary(Vec::new(), Some(ENCRYPTED.into()), options);
            }
            if found.len() > MAX_SIGNATURES {
                let problem = format!(
                    "{} signatures; at most {MAX_SIGNATURES} are verified in one file",
                    found.len()
                );
                return summary(Vec::new(), Some(problem), options);
            }
            let store = dss(&doc);
            found
                .into_iter()
                .map(|(field, sig)| verify_one(pdf, &doc, &store, &field, &sig, options))
                .collect()
        }
        Err(e) => {
            let problem = format!("not a readable PDF: {e}");
            return summary(Vec::new(), Some(problem), options);
        }
    };
    mark_archival(&mut signatures);
    summary(signatures, None, options)
}

/// Whether the token's authority is no longer valid at the validation time `--at`.
fn expires_before(token: &timestamp::Token, options: &VerifyOptions) -> bool {
    let Some(at) = options.at else { return false };
    certificate::inspect(&token.tsa_certificate).map_or(true, |info| info.not_after < at)
}

/// A B-LT signature covered by a later valid document timestamp is B-LTA; a timestamp
/// whose authority has expired at the validation time stands only when a later valid
/// document timestamp (itself current) covers it.
fn mark_archival(signatures: &mut [SignatureReport]) {
    let renewals: Vec<usize> = signatures
        .iter()
        .filter(|s| s.kind == "document_timestamp" && s.valid && !s.needs_renewal)
        .map(|s| s.revision_end)
        .collect();
    let stamped_ends: Vec<usize> = signatures
        .iter()
        .filter(|s| s.kind == "document_timestamp" && s.valid)
        .map(|s| s.revision_end)
        .collect();
    for s in signatures.iter_mut() {
        if s.level == "B-LT" && stamped_ends.iter().any(|end| *end > s.revision_end) {
            s.level = "B-LTA".into();
        }
        if s.needs_renewal && !renewals.iter().any(|end| *end > s.revision_end) {
            s.valid = false;
            s.errors.push(
                "the timestamp authority's certificate has expired at this date and no later \
                 document timestamp renews the evidence"
                    .into(),
            );
        }
    }
}

/// The problem reported for a file sohoa cannot decrypt.
const ENCRYPTED: &str = "the PDF is encrypted with a user password: its signatures cannot be \
    read (verify an unencrypted copy, or the file where the password is known)";

fn summary(
    signatures: Vec<SignatureReport>,
    problem: Option<String>,
    options: &VerifyOptions,
) -> VerifyReport {
    let valid = problem.is_none() && !signatures.is_empty() && signatures.iter().all(|s| s.valid);
    let trusted = valid
        && !options.trust_anchors.is_empty()
        && signatures
            .iter()
            .all(|s| s.chain_trusted && (s.timestamp.is_none() || s.timestamp_trusted));
    let changed_as_allowed = signatures.iter().any(|s| s.modifications == Level::Allowed);
    let (message_vi, message_en) = if let Some(problem) = problem {
        let vi = if problem == ENCRYPTED {
            "Tệp PDF được mã hoá bằng mật khẩu: không đọc được chữ ký số trong tệp."
        } else {
            "Không đọc được tệp PDF."
        };
        (vi.to_string(), problem)
    } else if signatures.is_empty() {
        (
            "Tài liệu không có chữ ký số.".into(),
            "The document has no digital signature.".into(),
        )
    } else if valid && !trusted {
        (
            "Chữ ký số còn nguyên vẹn nhưng CHƯA xác định được người ký đáng tin cậy: chứng thư \
             không dẫn tới chứng thư gốc tin cậy nào (--trust)."
                .into(),
            "The signature is intact, but the signer is NOT trusted: no trust anchor (--trust) \
             reaches its certificate."
                .into(),
        )
    } else if valid && changed_as_allowed {
        (
            "Chữ ký số hợp lệ; sau khi ký chỉ có các bổ sung được phép (chữ ký khác, dữ liệu xác minh)."
                .into(),
            "The signatures are valid; since signing, only permitted additions were made \
             (further signatures, validation data)."
                .into(),
        )
    } else if valid {
        (
            "Chữ ký số hợp lệ; tài liệu không bị thay đổi sau khi ký.".into(),
            "The signature is valid; the document has not been changed since it was signed.".into(),
        )
    } else if signatures
        .iter()
        .any(|s| s.modifications == Level::Disallowed)
    {
        (
            "Chữ ký số không hợp lệ: tài liệu đã bị thay đổi sau khi ký.".into(),
            "Invalid signature: the document was changed after signing.".into(),
        )
    } else {
        (
            "Chữ ký số không hợp lệ.".into(),
            "The signature is not valid.".into(),
        )
    };
    let outcome = match (valid, trusted) {
        (true, true) => "trusted",
        (true, false) => "untrusted",
        _ => "invalid",
    };
    VerifyReport {
        valid,
        trusted,
        outcome,
        signatures,
        message_vi,
        message_en,
    }
}

/// Signature dictionaries with their field names, from signature fields (`/FT /Sig`).
fn signature_dictionaries(doc: &Document) -> Vec<(String, Dictionary)> {
    let mut found = Vec::new();
    for object in doc.objects.values() {
        let Ok(field) = object.as_dict() else {
            continue;
        };
        if field.get(b"FT").and_then(Object::as_name).ok() != Some(b"Sig") {
            continue;
        }
        let Ok(value) = field.get(b"V") else { continue };
        let Ok((_, sig)) = doc.dereference(value) else {
            continue;
        };
        if let Ok(sig) = sig.as_dict() {
            let name = field
                .get(b"T")
                .ok()
                .and_then(|t| t.as_str().ok())
                .map(decode_text)
                .unwrap_or_default();
            found.push((name, sig.clone()));
        }
    }
    found.sort_by_key(|(_, sig)| byte_range(sig).map(|r| r[2] + r[3]).unwrap_or(0));
    found
}

fn decode_text(bytes: &[u8]) -> String {
    match bytes {
        [0xFE, 0xFF, rest @ ..] => String::from_utf16_lossy(
            &rest
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect::<Vec<_>>(),
        ),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn byte_range(sig: &Dictionary) -> Option<[usize; 4]> {
    let values: Vec<usize> = sig
        .get(b"ByteRange")
        .ok()?
        .as_array()
        .ok()?
        .iter()
        .filter_map(|v| v.as_i64().ok())
        .filter_map(|v| usize::try_from(v).ok())
        .collect();
    values.try_into().ok()
}

fn verify_one(
    pdf: &[u8],
    current: &Document,
    store: &Dss,
    field: &str,
    sig: &Dictionary,
    options: &VerifyOptions,
) -> SignatureReport {
    let mut report = SignatureReport {
        field: field.to_string(),
        kind: "signature".into(),
        sub_filter: sig
            .get(b"SubFilter")
            .and_then(Object::as_name)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default(),
        warnings: Vec::new(),
        signer: String::new(),
        signed_at: None,
        level: "B-B".into(),
        timestamp: None,
        timestamp_authority: None,
        timestamp_trusted: false,
        revocation: None,
        evidence_invalid: false,
        weak: false,
        revision_end: 0,
        needs_renewal: false,
        algorithm: String::new(),
        covers_whole_document: false,
        modified_after_signing: false,
        modifications: Level::None,
        changes: Vec::new(),
        chain_trusted: false,
        cryptographically_valid: false,
        certificate_ok: false,
        valid: false,
        errors: Vec::new(),
    };
    let signed_at = sig
        .get(b"M")
        .ok()
        .and_then(|m| m.as_str().ok())
        .and_then(parse_pdf_date);
    report.signed_at = signed_at.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    let Some(range) = checked_range(pdf, sig, &mut report.errors) else {
        return report;
    };
    let end = range[2] + range[3];
    report.covers_whole_document = end == pdf.len();
    report.modified_after_signing = !report.covers_whole_document;
    let later = later_revisions(pdf, end, current);
    if later.level == Level::Disallowed {
        report.errors.push(format!(
            "{} bytes were appended after the signed revision, with changes a signature does not allow: {}",
            pdf.len() - end,
            later.changes.join("; ")
        ));
    }
    report.modifications = later.level;
    report.changes = later.changes;
    let Some(der) = contents_der(&pdf[range[1] + 1..range[2] - 1]) else {
        report
            .errors
            .push("/Contents is not a DER signature".into());
        return report;
    };
    let parts = [&pdf[..range[1]], &pdf[range[2]..range[2] + range[3]]];
    report.revision_end = end;
    let profile = match report.sub_filter.as_str() {
        "ETSI.RFC3161" => {
            check_document_timestamp(&mut report, &der, &parts, options);
            return report;
        }
        "ETSI.CAdES.detached" => cms::Profile::Cades,
        "adbe.pkcs7.detached" => cms::Profile::Pkcs7,
        "adbe.pkcs7.sha1" => {
            check_sha1_signature(&mut report, &der, &parts, signed_at, options);
            return report;
        }
        other => {
            report.errors.push(format!(
                "unsupported signature format /SubFilter /{other} (ETSI.CAdES.detached, \
                 adbe.pkcs7.detached and ETSI.RFC3161 are verified)"
            ));
            return report;
        }
    };
    let stamped = check_timestamp(&mut report, &der, options);
    match cms::verify_detached_as(&der, &parts, profile) {
        Ok(cms) => {
            report.warnings.extend(cms.warnings.iter().cloned());
            mark_weak(&mut report, cms.weak);
            check_revocation(
                &mut report,
                &cms,
                store,
                options,
                (stamped.or(signed_at), stamped.is_some()),
            );
            let time = stamped.or(options.at).or(signed_at);
            check_cms(&mut report, cms, time, options);
            if stamped.is_none() && options.at.is_some() && !report.certificate_ok {
                report.errors.push(
                    "no timestamp proves the signature existed while its certificate was valid \
                     (B-B): it cannot be validated at this date"
                        .into(),
                );
            }
        }
        Err(e) => report.errors.push(format!("CMS: {e}")),
    }
    report.valid = report.cryptographically_valid
        && report.certificate_ok
        && !report.weak
        && report.modifications != Level::Disallowed
        && !report.evidence_invalid
        && (report.timestamp.is_none() || report.timestamp_trusted)
        && (options.trust_anchors.is_empty() || report.chain_trusted);
    report
}

/// SHA-1 in a signature: reported, and the signature is not valid even when intact.
fn mark_weak(report: &mut SignatureReport, weak: bool) {
    if weak {
        report.weak = true;
        report.warnings.push("weak algorithm SHA-1".into());
        report.errors.push(
            "SHA-1 was used: the signature may be intact, but SHA-1 no longer proves what was \
             signed (collisions are practical), so it is not accepted as valid"
                .into(),
        );
    }
}

/// Checks a legacy `adbe.pkcs7.sha1` signature: a PKCS #7 SignedData whose encapsulated
/// content is the SHA-1 digest of the byte range. Verified, so that intact and tampered
/// are told apart, and never valid (SHA-1).
fn check_sha1_signature(
    report: &mut SignatureReport,
    der: &[u8],
    parts: &[&[u8]; 2],
    signed_at: Option<OffsetDateTime>,
    options: &VerifyOptions,
) {
    let oid = const_oid::db::rfc5911::ID_DATA;
    match cms::verify_encapsulated_as(der, oid, cms::Profile::Pkcs7) {
        Ok((mut cms, content)) => {
            let digest = ring::digest::digest(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                &[parts[0], parts[1]].concat(),
            );
            if content != digest.as_ref() {
                cms.digest_matches = false;
            }
            report.warnings.extend(cms.warnings.iter().cloned());
            mark_weak(report, true);
            check_cms(report, cms, signed_at, options);
        }
        Err(e) => report.errors.push(format!("CMS: {e}")),
    }
    report.valid = false;
}

/// Checks a document timestamp: an RFC 3161 token over the byte range, from a TSA
/// certificate chained to the anchors at the token's time.
fn check_document_timestamp(
    report: &mut SignatureReport,
    der: &[u8],
    parts: &[&[u8]; 2],
    options: &VerifyOptions,
) {
    report.kind = "document_timestamp".into();
    report.level = String::new();
    report.algorithm = "RFC 3161 document timestamp".into();
    let imprint = sha2::Sha256::digest([parts[0], parts[1]].concat());
    match timestamp::check(der, &imprint, None) {
        Ok(token) => {
            report.cryptographically_valid = true;
            report.certificate_ok = true;
            report.signer = token.tsa.clone();
            report.timestamp = token
                .time
                .format(&time::format_description::well_known::Rfc3339)
                .ok();
            report.timestamp_authority = Some(token.tsa.clone());
            report.chain_trusted = !options.trust_anchors.is_empty()
                && certificate::verify_chain(
                    &token.tsa_certificate,
                    &token.certificates,
                    &options.trust_anchors,
                    token.time,
                )
                .map_err(|e| report.errors.push(format!("chain: {e}")))
                .is_ok();
            report.timestamp_trusted = report.chain_trusted || options.trust_anchors.is_empty();
            report.needs_renewal = expires_before(&token, options);
        }
        Err(e) => report.errors.push(e.to_string()),
    }
    report.valid = report.cryptographically_valid
        && report.modifications != Level::Disallowed
        && (options.trust_anchors.is_empty() || report.chain_trusted);
}

/// Checks the signature timestamp, if any (then the copy is B-T); its time, trusted by
/// the timestamp's own signature, is when the signer's certificate must have been valid.
fn check_timestamp(
    report: &mut SignatureReport,
    der: &[u8],
    options: &VerifyOptions,
) -> Option<OffsetDateTime> {
    match timestamp::signature_timestamp(der)? {
        Ok(token) => {
            report.level = "B-T".into();
            report.timestamp = token
                .time
                .format(&time::format_description::well_known::Rfc3339)
                .ok();
            report.timestamp_authority = Some(token.tsa.clone());
            if !options.trust_anchors.is_empty() {
                let others: Vec<Vec<u8>> = token
                    .certificates
                    .iter()
                    .filter(|c| **c != token.tsa_certificate)
                    .cloned()
                    .collect();
                if let Err(e) = certificate::verify_chain(
                    &token.tsa_certificate,
                    &others,
                    &options.trust_anchors,
                    token.time,
                ) {
                    report
                        .errors
                        .push(format!("timestamp authority chain: {e}"));
                    report.timestamp_trusted = false;
                    return Some(token.time);
                }
            }
            report.timestamp_trusted = true;
            report.needs_renewal = expires_before(&token, options);
            Some(token.time)
        }
        Err(e) => {
            report.errors.push(format!("signature timestamp: {e}"));
            report.evidence_invalid = true;
            None
        }
    }
}

/// The signer's status from the OCSP answers and CRLs in the document's DSS. Evidence
/// produced after the signing time (proved by the signature timestamp, else claimed by
/// `/M`) shows the status at signing; a signature timestamp plus such evidence that the
/// certificate was good makes the copy B-LT. A certificate revoked before a
/// timestamp-proved signing time, or with no such proof, makes the signature invalid.
fn check_revocation(
    report: &mut SignatureReport,
    cms: &cms::CmsReport,
    store: &Dss,
    options: &VerifyOptions,
    (signing_time, stamped): (Option<OffsetDateTime>, bool),
) {
    let anchors = &options.trust_anchors;
    let Some(evidence) = embedded_status(cms, store, anchors, signing_time) else {
        return;
    };
    let fresh = signing_time.is_none_or(|t| evidence.produced_at + FRESHNESS_TOLERANCE >= t);
    let status = match evidence.status {
        revocation::Status::Good => "good",
        revocation::Status::Revoked(_) => "revoked",
        revocation::Status::Unknown => "unknown",
    };
    let source = match evidence.source {
        revocation::Source::Ocsp => "OCSP answer",
        revocation::Source::Crl => "CRL",
    };
    if let revocation::Status::Revoked(revoked_at) = evidence.status {
        match signing_time.filter(|t| stamped && *t < revoked_at) {
            Some(_) => report.warnings.push(format!(
                "the signer's certificate was revoked on {}, after the timestamped signing time",
                revoked_at.date()
            )),
            None => {
                report.errors.push(format!(
                    "the signer's certificate is revoked (embedded {source})"
                ));
                report.evidence_invalid = true;
            }
        }
    }
    if !fresh {
        report.warnings.push(format!(
            "the embedded {source} predates the signature: it does not show the status at signing"
        ));
    }
    if status == "good" && fresh && report.level == "B-T" {
        report.level = "B-LT".into();
    }
    report.revocation = Some(Revocation {
        status: status.into(),
        source: "embedded".into(),
        produced_at: evidence
            .produced_at
            .format(&time::format_description::well_known::Rfc3339)
            .ok(),
    });
}

/// How much earlier than the signing time evidence may be produced and still count as
/// made after it (the responder's and the TSA's clocks differ; answers carry whole
/// seconds).
const FRESHNESS_TOLERANCE: time::Duration = time::Duration::seconds(60);

/// The checked evidence about the signer in the DSS: the newest produced after the
/// signing time, else the newest.
fn embedded_status(
    cms: &cms::CmsReport,
    store: &Dss,
    anchors: &[Vec<u8>],
    signing_time: Option<OffsetDateTime>,
) -> Option<revocation::Evidence> {
    let signer = &cms.signer_certificate;
    let candidates: Vec<&Vec<u8>> = cms
        .certificates
        .iter()
        .chain(&store.certs)
        .chain(anchors)
        .filter(|c| *c != signer)
        .collect();
    let ocsps = store.ocsps.iter().filter_map(|answer| {
        candidates
            .iter()
            .find_map(|issuer| ocsp::check(answer, signer, issuer).ok())
    });
    let crls = store.crls.iter().filter_map(|list| {
        candidates
            .iter()
            .find_map(|issuer| crl::check(list, signer, issuer).ok().map(|(e, _)| e))
    });
    let found: Vec<revocation::Evidence> = ocsps.chain(crls).collect();
    let fresh = |e: &&revocation::Evidence| {
        signing_time.is_none_or(|t| e.produced_at + FRESHNESS_TOLERANCE >= t)
    };
    found
        .iter()
        .filter(fresh)
        .max_by_key(|e| e.produced_at)
        .or_else(|| found.iter().max_by_key(|e| e.produced_at))
        .cloned()
}

/// Most signatures verified in one file: each earlier one re-reads its revision, so a
/// hostile file with thousands would cost quadratic time.
const MAX_SIGNATURES: usize = 50;
/// Most certificates or OCSP answers taken from a DSS (each answer is tried against each
/// candidate issuer).
const MAX_DSS_ENTRIES: usize = 500;

/// The certificates and OCSP answers of the document security store, read once per file.
#[derive(Default)]
struct Dss {
    certs: Vec<Vec<u8>>,
    ocsps: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
}

fn dss(doc: &Document) -> Dss {
    let streams = |dss: &Dictionary, key: &[u8]| -> Vec<Vec<u8>> {
        dss.get(key)
            .ok()
            .and_then(|v| doc.dereference(v).ok())
            .and_then(|(_, v)| v.as_array().ok())
            .map(|items| {
                items
                    .iter()
                    .take(MAX_DSS_ENTRIES)
                    .filter_map(|i| doc.dereference(i).ok()?.1.as_stream().ok())
                    .filter_map(|s| {
                        s.decompressed_content()
                            .ok()
                            .or_else(|| Some(s.content.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let Some(dss) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"DSS").ok())
        .and_then(|d| doc.dereference(d).ok())
        .and_then(|(_, d)| d.as_dict().ok())
    else {
        return Dss::default();
    };
    Dss {
        certs: streams(dss, b"Certs"),
        ocsps: streams(dss, b"OCSPs"),
        crls: streams(dss, b"CRLs"),
    }
}

/// What the revisions after the one ending at `end` changed.
fn later_revisions(pdf: &[u8], end: usize, current: &Document) -> Modifications {
    if end == pdf.len() {
        return Modifications::none();
    }
    let appended = &pdf[end..];
    let is_update = |marker: &[u8]| appended.windows(marker.len()).any(|w| w == marker);
    if !(is_update(b"startxref") && is_update(b"%%EOF")) {
        return Modifications {
            level: Level::Disallowed,
            changes: vec![format!(
                "{} bytes after the signed revision are not an incremental update",
                appended.len()
            )],
        };
    }
    match Document::load_mem(&pdf[..end]) {
        Ok(signed) => revisions::classify(&signed, current, Policy::of(&signed)),
        Err(e) => Modifications {
            level: Level::Disallowed,
            changes: vec![format!("the signed revision is not a readable PDF: {e}")],
        },
    }
}

fn check_cms(
    report: &mut SignatureReport,
    cms: cms::CmsReport,
    signed_at: Option<OffsetDateTime>,
    options: &VerifyOptions,
) {
    report.algorithm = cms.algorithm.clone();
    report.errors.extend(cms.errors.iter().cloned());
    report.cryptographically_valid =
        cms.digest_matches && cms.signature_valid && cms.signing_certificate_matches;
    if !cms.digest_matches && !cms.unsupported {
        report
            .errors
            .push("the signed bytes do not match the signature's message digest".into());
    }
    let at = signed_at.unwrap_or_else(OffsetDateTime::now_utc);
    if signed_at.is_none() {
        report
            .errors
            .push("no signing time (/M); certificate checked at the current time".into());
    }
    match certificate::check_signing(&cms.signer_certificate, at) {
        Ok(info) => {
            report.signer = info.subject;
            report.certificate_ok = true;
        }
        Err(e) => {
            report.signer = certificate::inspect(&cms.signer_certificate)
                .map(|i| i.subject)
                .unwrap_or_default();
            report.errors.push(e.to_string());
        }
    }
    if !options.trust_anchors.is_empty() {
        let others: Vec<Vec<u8>> = cms
            .certificates
            .iter()
            .filter(|c| **c != cms.signer_certificate)
            .cloned()
            .collect();
        match certificate::verify_chain(
            &cms.signer_certificate,
            &others,
            &options.trust_anchors,
            at,
        ) {
            Ok(_) => report.chain_trusted = true,
            Err(e) => report.errors.push(format!("chain: {e}")),
        }
    }
}

/// Validates the byte range against the file: starts at 0, a gap holding exactly the
/// hex `/Contents`, nothing beyond the end.
fn checked_range(pdf: &[u8], sig: &Dictionary, errors: &mut Vec<String>) -> Option<[usize; 4]> {
    let Some(range) = byte_range(sig) else {
        errors.push(
            "the signature's coverage is not standard: /ByteRange is missing or does not have \
             four offsets"
                .into(),
        );
        return None;
    };
    let [a, b, c, d] = range;
    let fits = a == 0 && b > 0 && c > b + 1 && c.checked_add(d).is_some_and(|end| end <= pdf.len());
    if !fits
        || pdf[b] != b'<'
        || pdf[c - 1] != b'>'
        || !pdf[b + 1..c - 1].iter().all(u8::is_ascii_hexdigit)
    {
        errors.push(format!(
            "the signature's coverage is not standard: /ByteRange {range:?} does not frame the \
             signature value exactly (it must start at 0 and leave out only /Contents)"
        ));
        return None;
    }
    Some(range)
}

/// Decodes the hex `/Contents` and trims the zero padding after the DER value.
fn contents_der(hex_digits: &[u8]) -> Option<Vec<u8>> {
    let bytes = hex::decode(hex_digits).ok()?;
    let length = der_length(&bytes)?;
    bytes.get(..length).map(<[u8]>::to_vec)
}

/// Total length of the DER value at the start of `bytes` (tag, length, content).
fn der_length(bytes: &[u8]) -> Option<usize> {
    let first = *bytes.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let count = usize::from(first & 0x7F);
    if count == 0 || count > 4 {
        return None;
    }
    let len = bytes
        .get(2..2 + count)?
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Some(2 + count + len)
}

/// Parses `D:YYYYMMDDHHmmSS` with an optional `Z` or `±HH'mm'` offset.
pub fn parse_pdf_date(bytes: &[u8]) -> Option<OffsetDateTime> {
    let s = std::str::from_utf8(bytes).ok()?.strip_prefix("D:")?;
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|v| v.parse::<i32>().ok());
    let date = time::Date::from_calendar_date(
        num(0..4)?,
        time::Month::try_from(num(4..6).unwrap_or(1) as u8).ok()?,
        num(6..8).unwrap_or(1) as u8,
    )
    .ok()?;
    let clock = time::Time::from_hms(
        num(8..10).unwrap_or(0) as u8,
        num(10..12).unwrap_or(0) as u8,
        num(12..14).unwrap_or(0) as u8,
    )
    .ok()?;
    let offset = match s.get(14..15) {
        Some(sign @ ("+" | "-")) => {
            let minutes = num(15..17)? * 60 + num(18..20).unwrap_or(0);
            time::UtcOffset::from_whole_seconds(if sign == "-" {
                -minutes * 60
            } else {
                minutes * 60
            })
            .ok()?
        }
        _ => time::UtcOffset::UTC,
    };
    Some(time::PrimitiveDateTime::new(date, clock).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_parse_with_offsets() {
        let t = parse_pdf_date(b"D:20261126140000+07'00'").unwrap();
        assert_eq!(
            t.unix_timestamp(),
            parse_pdf_date(b"D:20261126070000Z")
                .unwrap()
                .unix_timestamp()
        );
        assert!(parse_pdf_date(b"garbage").is_none());
    }

    #[test]
    fn der_padding_is_trimmed() {
        assert_eq!(
            contents_der(b"3003020101000000").unwrap(),
            vec![0x30, 0x03, 0x02, 0x01, 0x01]
        );
        assert_eq!(der_length(&[0x30, 0x82, 0x01, 0x00]), Some(260));
    }

    #[test]
    fn a_file_with_too_many_signatures_is_refused_at_once() {
        use lopdf::dictionary;
        let mut doc = Document::with_version("1.7");
        for i in 0..=MAX_SIGNATURES {
            let sig = doc.add_object(dictionary! { "Type" => "Sig" });
            doc.add_object(dictionary! {
                "FT" => "Sig", "T" => Object::string_literal(format!("S{i}")), "V" => sig,
            });
        }
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog" });
        doc.trailer.set("Root", catalog);
        let mut pdf = Vec::new();
        doc.save_to(&mut pdf).unwrap();
        let report = verify_pdf(&pdf, &VerifyOptions::default());
        assert!(!report.valid && report.signatures.is_empty());
        assert!(
            report.message_en.contains("at most 50"),
            "{}",
            report.message_en
        );
    }

    #[test]
    fn a_file_without_signatures_is_not_valid() {
        let report = verify_pdf(b"not a pdf", &VerifyOptions::default());
        assert!(!report.valid);
        assert!(!report.message_vi.is_empty() && !report.message_en.is_empty());
    }
}
