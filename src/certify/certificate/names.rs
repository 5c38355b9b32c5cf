//! Distinguished names as text, RFC 4514 style.
//!
//! Written here rather than with `x509-cert`'s `Display`, which prints BMPString and
//! TeletexString values (found in CA certificates) as hex, and long attribute names
//! (`EMAILADDRESS`) where signers' names are conventionally short (`E`).

use der::{Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::Name;

/// Formats a distinguished name RFC 4514 style: RDNs in reverse order (most specific
/// first), `+` between values of one RDN, special characters escaped.
pub(crate) fn name_to_string(name: &Name) -> String {
    let rdns: Vec<String> = name
        .0
        .iter()
        .map(|rdn| {
            rdn.0
                .iter()
                .map(attribute_to_string)
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(", ")
}

fn attribute_to_string(attr: &AttributeTypeAndValue) -> String {
    let oid = attr.oid.to_string();
    let label = match oid.as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "2.5.4.42" => "GN",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "E",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        other => other,
    };
    let (tag, data) = (attr.value.tag(), attr.value.value());
    let text = match decode_string(tag, data) {
        Some(s) => escape_rfc4514(&s),
        None => format!("#{}", hex::encode_upper(data)),
    };
    format!("{label}={text}")
}

/// Decodes the directory string types; `None` for anything else.
pub(super) fn decode_string(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => String::from_utf8(data.to_vec()).ok(),
        // Treated as Latin-1, which is what T.61 strings in certificates hold in practice.
        Tag::TeletexString => Some(data.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString if data.len() % 2 == 0 => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

pub(super) fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge_space = c == ' ' && (i == 0 || i == last);
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || edge_space
            || (i == 0 && c == '#')
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
