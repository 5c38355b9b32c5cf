//! What changed after a signed revision. A signature covers the file up to the end of its
//! revision; later incremental updates are **allowed** when they only add what PAdES and
//! the document's DocMDP permission expect — validation data (`/DSS`), document
//! timestamps and further signatures, form filling, and (at permission 3) annotations — and
//! **disallowed** otherwise: page content, resources, the page tree, anything else the
//! signature covered. The rules are default-deny: an object of the signed revision that
//! changed is disallowed unless a rule below explains the change.
//!
//! Sans-I/O: both revisions come in as parsed documents.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, Object, ObjectId};
use serde::Serialize;

/// How much a later revision changed, compared with the signed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Nothing was appended after the signed revision.
    None,
    /// Only permitted additions (signatures, validation data, form filling).
    Allowed,
    /// Something the signature covered was changed.
    Disallowed,
}

/// The changes after one signed revision.
#[derive(Debug, Clone, Serialize)]
pub struct Modifications {
    /// The verdict.
    pub level: Level,
    /// What changed, in English: the allowed additions and the disallowed changes.
    pub changes: Vec<String>,
}

impl Modifications {
    /// No revision after the signed one.
    pub fn none() -> Modifications {
        Modifications {
            level: Level::None,
            changes: Vec::new(),
        }
    }
}

/// The DocMDP permission of a certified document (ISO 32000-1 §12.8.2.2): 1 no changes,
/// 2 form filling and signing, 3 also annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Permission(pub u8);

impl Permission {
    /// The permission of a document without a certification signature: sohoa treats it
    /// as 2 (further signatures and form filling; an added annotation could hide content).
    pub const DEFAULT: Permission = Permission(2);
}

/// What a signed revision permits to change after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The DocMDP permission.
    pub permission: Permission,
    /// The document carries a certification signature: further signature fields must
    /// then be invisible (a visible widget added later could cover certified content;
    /// pyHanko's default policy says the same).
    pub certified: bool,
}

impl Policy {
    /// The policy of a signed revision: its certification signature's permission, else
    /// [`Permission::DEFAULT`].
    pub fn of(signed: &Document) -> Policy {
        match permission(signed) {
            Some(permission) => Policy {
                permission,
                certified: true,
            },
            None => Policy {
                permission: Permission::DEFAULT,
                certified: false,
            },
        }
    }
}

/// Compares `signed` (the revision a signature covers) with `current` (the whole file).
pub fn classify(signed: &Document, current: &Document, policy: Policy) -> Modifications {
    let mut review = Review {
        signed,
        current,
        permission: policy.permission,
        certified: policy.certified,
        allowed: Vec::new(),
        disallowed: Vec::new(),
    };
    review.run();
    let level = if !review.disallowed.is_empty() {
        Level::Disallowed
    } else {
        Level::Allowed
    };
    let mut changes = review.disallowed;
    changes.extend(dedup(review.allowed));
    Modifications { level, changes }
}

/// The permission of a certification signature in `doc` (`/Perms /DocMDP`), if any.
pub fn permission(doc: &Document) -> Option<Permission> {
    let catalog = doc.catalog().ok()?;
    let perms = resolve_dict(doc, catalog.get(b"Perms").ok()?)?;
    let signature = resolve_dict(doc, perms.get(b"DocMDP").ok()?)?;
    let references = resolve(doc, signature.get(b"Reference").ok()?)?
        .as_array()
        .ok()?;
    references.iter().find_map(|reference| {
        let reference = resolve_dict(doc, reference)?;
        let params = resolve_dict(doc, reference.get(b"TransformParams").ok()?)?;
        let p = params
            .get(b"P")
            .and_then(Object::as_i64)
            .unwrap_or(2)
            .clamp(1, 3);
        Some(Permission(p as u8))
    })
}

struct Review<'a> {
    signed: &'a Document,
    current: &'a Document,
    permission: Permission,
    certified: bool,
    allowed: Vec<String>,
    disallowed: Vec<String>,
}

impl Review<'_> {
    fn run(&mut self) {
        let root = root_id(self.signed);
        if root != root_id(self.current) {
            self.disallowed
                .push("the document catalog was replaced".into());
            return;
        }
        let pages: Vec<(u32, ObjectId)> = self.signed.get_pages().into_iter().collect();
        let annots_arrays: HashSet<ObjectId> = pages
            .iter()
            .filter_map(|(_, id)| self.signed.get_dictionary(*id).ok())
            .filter_map(|page| page.get(b"Annots").ok()?.as_reference().ok())
            .collect();
        let catalog = root.and_then(|r| self.signed.get_dictionary(r).ok());
        let form = catalog.and_then(|c| c.get(b"AcroForm").ok()?.as_reference().ok());
        let metadata = catalog.and_then(|c| c.get(b"Metadata").ok()?.as_reference().ok());
        let info = self
            .signed
            .trailer
            .get(b"Info")
            .and_then(Object::as_reference)
            .ok();
        for (&id, old) in &self.signed.objects {
            if is_structural(old) {
                continue;
            }
            let Some(new) = self.current.objects.get(&id) else {
                self.disallowed.push(format!(
                    "object {} of the signed revision was removed",
                    id.0
                ));
                continue;
            };
            if same(old, new) {
                continue;
            }
            if Some(id) == root {
                self.catalog(old, new);
            } else if Some(id) == form {
                self.form(old, new);
            } else if let Some((number, _)) = pages.iter().find(|(_, p)| *p == id) {
                self.page(*number, old, new);
            } else if annots_arrays.contains(&id) {
                let page = pages
                    .iter()
                    .find(|(_, p)| {
                        self.signed
                            .get_dictionary(*p)
                            .ok()
                            .and_then(|d| d.get(b"Annots").ok()?.as_reference().ok())
                            == Some(id)
                    })
                    .map_or(0, |(n, _)| *n);
                self.annotations(page, old, new);
            } else if Some(id) == info {
                self.allowed.push("document information updated".into());
            } else if Some(id) == metadata && is_xmp(new) {
                self.allowed.push("document metadata (XMP) updated".into());
            } else if is_field(old) {
                self.field(id, old, new);
            } else {
                self.disallowed.push(format!(
                    "object {} ({}) of the signed revision was changed",
                    id.0,
                    describe(old)
                ));
            }
        }
    }

    /// The catalog may gain `/DSS` and a form, and change its version and extensions.
    fn catalog(&mut self, old: &Object, new: &Object) {
        let (Ok(old), Ok(new)) = (old.as_dict(), new.as_dict()) else {
            self.disallowed.push("the catalog was replaced".into());
            return;
        };
        for key in changed_keys(old, new) {
            match key.as_slice() {
                b"DSS" => self.allowed.push("validation data (DSS) added".into()),
                b"Version" | b"Extensions" => {}
                b"AcroForm" => match (old.get(b"AcroForm"), new.get(b"AcroForm")) {
                    (Ok(Object::Dictionary(a)), Ok(Object::Dictionary(b))) => {
                        let (a, b) = (Object::Dictionary(a.clone()), Object::Dictionary(b.clone()));
                        self.form(&a, &b)
                    }
                    (Err(_), Ok(_)) => self.allowed.push("a form was added".into()),
                    _ => self
                        .disallowed
                        .push("the catalog's form was replaced".into()),
                },
                other => self.disallowed.push(format!(
                    "the catalog's /{} was changed",
                    String::from_utf8_lossy(other)
                )),
            }
        }
    }

    /// The form may gain fields (none removed) and update its flags and defaults.
    fn form(&mut self, old: &Object, new: &Object) {
        let (Ok(old), Ok(new)) = (old.as_dict(), new.as_dict()) else {
            self.disallowed.push("the form was replaced".into());
            return;
        };
        for key in changed_keys(old, new) {
            match key.as_slice() {
                b"Fields" => {
                    let before = self.array(self.signed, old.get(b"Fields").ok());
                    let after = self.array(self.current, new.get(b"Fields").ok());
                    if before.iter().all(|f| after.contains(f)) {
                        self.allowed.push("form fields added".into());
                    } else {
                        self.disallowed.push("a form field was removed".into());
                    }
                }
                b"SigFlags" | b"DR" | b"DA" | b"NeedAppearances" => {}
                other => self.disallowed.push(format!(
                    "the form's /{} was changed",
                    String::from_utf8_lossy(other)
                )),
            }
        }
    }

    /// A page may only gain annotations.
    fn page(&mut self, number: u32, old: &Object, new: &Object) {
        let (Ok(old), Ok(new)) = (old.as_dict(), new.as_dict()) else {
            self.disallowed.push(format!("page {number} was replaced"));
            return;
        };
        for key in changed_keys(old, new) {
            if key == b"Annots" {
                let before = self.array(self.signed, old.get(b"Annots").ok());
                let after = self.array(self.current, new.get(b"Annots").ok());
                self.annotation_lists(number, &before, &after);
            } else {
                self.disallowed.push(format!(
                    "page {number}: /{} was changed",
                    String::from_utf8_lossy(&key)
                ));
            }
        }
    }

    /// An indirect `/Annots` array of a page that changed.
    fn annotations(&mut self, number: u32, old: &Object, new: &Object) {
        let (Ok(before), Ok(after)) = (old.as_array(), new.as_array()) else {
            self.disallowed
                .push(format!("page {number}: the annotations were replaced"));
            return;
        };
        self.annotation_lists(number, before, after);
    }

    fn annotation_lists(&mut self, number: u32, before: &[Object], after: &[Object]) {
        if !before.iter().all(|a| after.contains(a)) {
            self.disallowed
                .push(format!("page {number}: an annotation was removed"));
            return;
        }
        for added in after.iter().filter(|a| !before.contains(a)) {
            let annotation = resolve_dict(self.current, added);
            if annotation.is_some_and(|a| is_signature_widget(self.current, a)) {
                let visible = annotation.is_some_and(is_visible);
                if self.permission >= Permission(2) && !(visible && self.certified) {
                    self.allowed.push("a signature field added".into());
                } else if visible && self.certified {
                    self.disallowed.push(format!(
                        "page {number}: a visible signature field was added after the certification signature"
                    ));
                } else {
                    self.disallowed.push(format!(
                        "page {number}: a signature field was added to a document that permits no changes"
                    ));
                }
            } else if self.permission >= Permission(3) {
                self.allowed
                    .push(format!("page {number}: an annotation added"));
            } else {
                let subtype = annotation
                    .and_then(|a| a.get(b"Subtype").ok()?.as_name().ok())
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .unwrap_or_else(|| "?".into());
                self.disallowed.push(format!(
                    "page {number}: an annotation (/{subtype}) was added over the signed content"
                ));
            }
        }
    }

    /// An existing form field: an empty signature field may be signed, other fields filled.
    fn field(&mut self, id: ObjectId, old: &Object, new: &Object) {
        let (Ok(old), Ok(new)) = (old.as_dict(), new.as_dict()) else {
            self.disallowed
                .push(format!("form field {} was replaced", id.0));
            return;
        };
        let signature = field_type(self.signed, old) == Some(b"Sig".as_slice());
        for key in changed_keys(old, new) {
            let allowed = match key.as_slice() {
                b"V" if signature => old.get(b"V").is_err() && self.permission >= Permission(2),
                b"V" | b"AS" | b"AP" => self.permission >= Permission(2),
                _ => false,
            };
            if allowed && signature {
                self.allowed
                    .push("a later signature in an empty signature field".into());
            } else if allowed {
                self.allowed.push("a form field filled in".into());
            } else {
                self.disallowed.push(format!(
                    "form field {}: /{} was changed",
                    id.0,
                    String::from_utf8_lossy(&key)
                ));
            }
        }
    }

    fn array(&self, doc: &Document, value: Option<&Object>) -> Vec<Object> {
        value
            .and_then(|v| resolve(doc, v))
            .and_then(|v| v.as_array().ok())
            .cloned()
            .unwrap_or_default()
    }
}

fn root_id(doc: &Document) -> Option<ObjectId> {
    doc.trailer.get(b"Root").and_then(Object::as_reference).ok()
}

fn resolve<'a>(doc: &'a Document, value: &'a Object) -> Option<&'a Object> {
    doc.dereference(value).ok().map(|(_, v)| v)
}

fn resolve_dict<'a>(doc: &'a Document, value: &'a Object) -> Option<&'a Dictionary> {
    resolve(doc, value)?.as_dict().ok()
}

/// Cross-reference and object streams: containers rewritten by every update.
fn is_structural(object: &Object) -> bool {
    let Object::Stream(stream) = object else {
        return false;
    };
    matches!(
        stream.dict.get(b"Type").and_then(Object::as_name),
        Ok(b"XRef" | b"ObjStm")
    )
}

/// A form field: it has a field type (or inherits one) and a name or a parent.
fn is_field(object: &Object) -> bool {
    object
        .as_dict()
        .is_ok_and(|d| d.has(b"FT") || (d.has(b"Parent") && d.has(b"T")))
}

fn field_type<'a>(doc: &'a Document, field: &'a Dictionary) -> Option<&'a [u8]> {
    let mut field = field;
    for _ in 0..32 {
        if let Ok(name) = field.get(b"FT").and_then(Object::as_name) {
            return Some(name);
        }
        field = resolve_dict(doc, field.get(b"Parent").ok()?)?;
    }
    None
}

fn is_signature_widget(doc: &Document, annotation: &Dictionary) -> bool {
    annotation.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Widget")
        && field_type(doc, annotation) == Some(b"Sig".as_slice())
}

/// A widget that shows on the page: a rectangle with area, not hidden (flags 2, 32).
fn is_visible(annotation: &Dictionary) -> bool {
    let flags = annotation.get(b"F").and_then(Object::as_i64).unwrap_or(0);
    let area = annotation
        .get(b"Rect")
        .and_then(Object::as_array)
        .ok()
        .and_then(|r| {
            let v: Vec<f32> = r.iter().filter_map(|x| x.as_float().ok()).collect();
            (v.len() == 4).then(|| ((v[2] - v[0]) * (v[3] - v[1])).abs())
        })
        .unwrap_or(0.0);
    area > 0.0 && flags & (2 | 32) == 0
}

/// An XML metadata stream (`/Type /Metadata /Subtype /XML`).
fn is_xmp(object: &Object) -> bool {
    let Object::Stream(stream) = object else {
        return false;
    };
    stream.dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"Metadata")
        && stream.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"XML")
}

/// Keys added, removed or changed between two dictionaries.
fn changed_keys(old: &Dictionary, new: &Dictionary) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for (key, value) in old.iter() {
        if new.get(key).map_or(true, |v| !same(value, v)) {
            keys.push(key.clone());
        }
    }
    for (key, _) in new.iter() {
        if !old.has(key) {
            keys.push(key.clone());
        }
    }
    keys
}

/// Equal as PDF values: string syntax (literal or hex), number syntax (`1` or `1.0`)
/// and where a stream sat in the file do not matter.
fn same(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::String(x, _), Object::String(y, _)) => x == y,
        (Object::Integer(x), Object::Real(y)) | (Object::Real(y), Object::Integer(x)) => {
            *x as f32 == *y
        }
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Object::Dictionary(x), Object::Dictionary(y)) => same_dict(x, y),
        (Object::Stream(x), Object::Stream(y)) => {
            x.content == y.content && same_dict(&x.dict, &y.dict)
        }
        _ => a == b,
    }
}

fn same_dict(a: &Dictionary, b: &Dictionary) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_ok_and(|w| same(v, w)))
}

/// `Type/Subtype` of an object, for messages.
fn describe(object: &Object) -> String {
    let dict = match object {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &s.dict,
        _ => return "a value".into(),
    };
    let name = |key: &[u8]| {
        dict.get(key)
            .and_then(Object::as_name)
            .ok()
            .map(|n| String::from_utf8_lossy(n).into_owned())
    };
    match (name(b"Type"), name(b"Subtype"), object) {
        (Some(t), Some(s), _) => format!("/{t} /{s}"),
        (Some(t), None, _) | (None, Some(t), _) => format!("/{t}"),
        (None, None, Object::Stream(_)) => "a content stream or other stream".into(),
        (None, None, _) => "a dictionary".into(),
    }
}

fn dedup(mut notes: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::dictionary;

    fn one_page() -> Document {
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let content = doc.add_object(lopdf::Stream::new(dictionary! {}, b"0 0 m".to_vec()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(
                dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
            ),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        doc
    }

    fn approval(p: u8) -> Policy {
        Policy {
            permission: Permission(p),
            certified: false,
        }
    }

    fn page_id(doc: &Document) -> ObjectId {
        doc.get_pages()[&1]
    }

    #[test]
    fn an_unchanged_document_has_nothing_to_report() {
        let doc = one_page();
        let m = classify(&doc, &doc.clone(), approval(2));
        assert_eq!(m.level, Level::Allowed);
        assert!(m.changes.is_empty());
    }

    #[test]
    fn new_content_on_a_page_is_disallowed() {
        let signed = one_page();
        let mut current = signed.clone();
        let page = page_id(&current);
        let forged =
            current.add_object(lopdf::Stream::new(dictionary! {}, b"BT (x) Tj ET".to_vec()));
        current
            .get_dictionary_mut(page)
            .unwrap()
            .set("Contents", forged);
        let m = classify(&signed, &current, approval(2));
        assert_eq!(m.level, Level::Disallowed, "{:?}", m.changes);
        assert!(m.changes[0].contains("/Contents"), "{:?}", m.changes);
    }

    #[test]
    fn a_rewritten_content_stream_is_disallowed() {
        let signed = one_page();
        let mut current = signed.clone();
        let content = current
            .get_dictionary(page_id(&current))
            .unwrap()
            .get(b"Contents")
            .unwrap()
            .as_reference()
            .unwrap();
        current.objects.insert(
            content,
            Object::Stream(lopdf::Stream::new(dictionary! {}, b"1 1 m".to_vec())),
        );
        assert_eq!(
            classify(&signed, &current, approval(2)).level,
            Level::Disallowed
        );
    }

    #[test]
    fn dss_and_a_new_signature_field_are_allowed_but_a_square_is_not() {
        let signed = one_page();
        let mut current = signed.clone();
        let page = page_id(&current);
        let dss = current.add_object(dictionary! { "Certs" => Vec::<Object>::new() });
        let widget = current.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig", "T" => Object::string_literal("S2"),
            "Rect" => vec![10.into(), 10.into(), 110.into(), 60.into()],
        });
        let root = root_id(&current).unwrap();
        let catalog = current.get_dictionary_mut(root).unwrap();
        catalog.set("DSS", dss);
        catalog.set(
            "AcroForm",
            dictionary! { "Fields" => vec![widget.into()], "SigFlags" => 3 },
        );
        current
            .get_dictionary_mut(page)
            .unwrap()
            .set("Annots", vec![Object::from(widget)]);
        let m = classify(&signed, &current, approval(2));
        assert_eq!(m.level, Level::Allowed, "{:?}", m.changes);
        let after_certification = Policy {
            permission: Permission(2),
            certified: true,
        };
        let m = classify(&signed, &current, after_certification);
        assert_eq!(
            m.level,
            Level::Disallowed,
            "a visible field after certification"
        );

        let square = current.add_object(dictionary! { "Type" => "Annot", "Subtype" => "Square" });
        current
            .get_dictionary_mut(page)
            .unwrap()
            .set("Annots", vec![Object::from(widget), Object::from(square)]);
        assert_eq!(
            classify(&signed, &current, approval(2)).level,
            Level::Disallowed
        );
        assert_eq!(
            classify(&signed, &current, approval(3)).level,
            Level::Allowed
        );
        assert_eq!(
            classify(&signed, &current, approval(1)).level,
            Level::Disallowed
        );
    }
}
