//! Pages of an existing PDF kept as they are (born-digital pages: vector text and
//! fonts untouched): the page's content, resources and boxes are copied into the output
//! with every object they reach, renumbered. Annotations, actions and the page's links
//! to the rest of its document are not copied.

use std::collections::HashMap;

use lopdf::{Dictionary, Document, Object, ObjectId};

/// Page keys copied; the rest (annotations, actions, thumbnails, parent) stays behind.
const PAGE_KEYS: &[&[u8]] = &[
    b"Contents",
    b"Resources",
    b"MediaBox",
    b"CropBox",
    b"Rotate",
    b"Group",
    b"UserUnit",
];
/// Keys inherited from the page tree when the page does not set them.
const INHERITED: &[&[u8]] = &[b"Resources", b"MediaBox", b"CropBox", b"Rotate"];

/// Copies page `page` of `source` into `target` under `parent`; returns the new page.
pub fn import_page(
    target: &mut Document,
    source: &Document,
    page: ObjectId,
    parent: ObjectId,
) -> Result<ObjectId, String> {
    let dict = source.get_dictionary(page).map_err(|e| e.to_string())?;
    let mut copy = Dictionary::new();
    copy.set("Type", "Page");
    copy.set("Parent", parent);
    let mut copier = Copier {
        source,
        target,
        ids: HashMap::new(),
    };
    for &key in PAGE_KEYS {
        let value = match dict.get(key) {
            Ok(value) => Some(value.clone()),
            Err(_) if INHERITED.contains(&key) => inherited(source, dict, key),
            Err(_) => None,
        };
        if let Some(value) = value {
            copy.set(key, copier.copy(&value, 0)?);
        }
    }
    Ok(copier.target.add_object(copy))
}

/// A page-tree attribute set on an ancestor of the page.
fn inherited(doc: &Document, page: &Dictionary, key: &[u8]) -> Option<Object> {
    let mut node = page;
    for _ in 0..32 {
        let parent = node.get(b"Parent").and_then(Object::as_reference).ok()?;
        node = doc.get_dictionary(parent).ok()?;
        if let Ok(value) = node.get(key) {
            return Some(value.clone());
        }
    }
    None
}

struct Copier<'a> {
    source: &'a Document,
    target: &'a mut Document,
    ids: HashMap<ObjectId, ObjectId>,
}

impl Copier<'_> {
    /// `object` with every reference it holds copied (once) into the target.
    fn copy(&mut self, object: &Object, depth: u32) -> Result<Object, String> {
        if depth > 256 {
            return Err("objects nested too deep".into());
        }
        Ok(match object {
            Object::Reference(id) => Object::Reference(self.copy_reference(*id, depth)?),
            Object::Array(items) => Object::Array(
                items
                    .iter()
                    .map(|o| self.copy(o, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            Object::Dictionary(dict) => Object::Dictionary(self.copy_dict(dict, depth)?),
            Object::Stream(stream) => {
                let mut stream = stream.clone();
                stream.dict = self.copy_dict(&stream.dict, depth)?;
                Object::Stream(stream)
            }
            other => other.clone(),
        })
    }

    fn copy_dict(&mut self, dict: &Dictionary, depth: u32) -> Result<Dictionary, String> {
        let mut out = Dictionary::new();
        for (key, value) in dict.iter() {
            // A link back into the page tree would drag the whole document along.
            if key.as_slice() == b"Parent" || key.as_slice() == b"P" {
                continue;
            }
            out.set(key.clone(), self.copy(value, depth + 1)?);
        }
        Ok(out)
    }

    fn copy_reference(&mut self, id: ObjectId, depth: u32) -> Result<ObjectId, String> {
        if let Some(&copied) = self.ids.get(&id) {
            return Ok(copied);
        }
        let new_id = self.target.new_object_id();
        self.ids.insert(id, new_id);
        let object = match self.source.get_object(id) {
            Ok(object) => self.copy(object, depth + 1)?,
            Err(_) => Object::Null,
        };
        self.target.objects.insert(new_id, object);
        Ok(new_id)
    }
}

/// Why a page cannot be kept in a PDF/A file as it is, if so: a font that draws text
/// but is not embedded, or colours in DeviceCMYK (PDF/A needs a matching output intent).
/// `shown` names the page's font resources that show text in its content stream; fonts
/// inside its forms are all checked.
pub fn unkeepable(source: &Document, page: ObjectId, shown: &[Vec<u8>]) -> Option<String> {
    // What the page would bring along, read in place (nothing is copied to find out).
    let dict = source.get_dictionary(page).ok()?;
    let resources = match dict.get(b"Resources") {
        Ok(resources) => resources.clone(),
        Err(_) => inherited(source, dict, b"Resources")?,
    };
    let mut reached = Vec::new();
    reach(source, &resources, &mut reached, 0);
    let resources = match &resources {
        Object::Reference(id) => source.get_dictionary(*id).ok()?,
        Object::Dictionary(d) => d,
        _ => return None,
    };
    let entries = |key: &[u8]| {
        resources
            .get_deref(key, source)
            .and_then(Object::as_dict)
            .map(|d| d.iter().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let shown_fonts = entries(b"Font")
        .into_iter()
        .filter(|(name, _)| shown.iter().any(|s| s == *name));
    // Fonts inside forms are all checked: which of them show text is not read.
    for (_, object) in shown_fonts.chain(entries(b"XObject")) {
        let mut fonts = Vec::new();
        reach(source, object, &mut fonts, 0);
        if let Some(reason) = fonts.iter().find_map(|d| font_not_embedded(d)) {
            return Some(reason);
        }
    }
    let cmyk = reached.iter().any(|d| {
        d.iter()
            .any(|(_, v)| v.as_name().ok() == Some(b"DeviceCMYK"))
    });
    cmyk.then(|| "it uses CMYK colours".to_string())
}

/// Every dictionary reachable from `object` (a font and its descendants and
/// descriptors, or a form and everything it uses).
fn reach<'a>(doc: &'a Document, object: &'a Object, out: &mut Vec<&'a Dictionary>, depth: u32) {
    if depth > 64 {
        return;
    }
    let object = match object {
        Object::Reference(id) => match doc.get_object(*id) {
            Ok(o) => o,
            Err(_) => return,
        },
        other => other,
    };
    let dict = match object {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &s.dict,
        Object::Array(items) => {
            for item in items {
                reach(doc, item, out, depth + 1);
            }
            return;
        }
        _ => return,
    };
    if out.iter().any(|d| std::ptr::eq(*d, dict)) {
        return;
    }
    out.push(dict);
    for (_, value) in dict.iter() {
        reach(doc, value, out, depth + 1);
    }
}

fn font_not_embedded(dict: &Dictionary) -> Option<String> {
    let name = |key: &[u8]| dict.get(key).and_then(Object::as_name).ok();
    let font_name = || {
        name(b"BaseFont")
            .or(name(b"FontName"))
            .map_or_else(String::new, |n| String::from_utf8_lossy(n).into_owned())
    };
    match name(b"Type") {
        Some(b"FontDescriptor")
            if !dict.has(b"FontFile") && !dict.has(b"FontFile2") && !dict.has(b"FontFile3") =>
        {
            Some(format!("its font {} is not embedded", font_name()))
        }
        Some(b"Font")
            if matches!(name(b"Subtype"), Some(b"Type1" | b"TrueType" | b"MMType1"))
                && !dict.has(b"FontDescriptor") =>
        {
            Some(format!("its font {} is not embedded", font_name()))
        }
        _ => None,
    }
}
