//! Pages captured for a draft's preview, kept in memory until the draft is stored, so
//! that storing reads them instead of capturing the photos again (page detection,
//! perspective, lighting, orientation check and deskew: about 0.4 s a phone photo).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::capture::{Page, Raster};

/// Bytes of captured pixels kept at most (two A4 colour pages at 300 dpi, seven gray):
/// the oldest go first, and a page no longer here is captured again when its draft is
/// stored. Small, because uploads' peak memory must stay under 1 GB
/// (benches/upload-memory.sh: 192 MiB here made it 1073 MiB with 8 uploads at once).
const BUDGET: usize = 64 << 20;

/// Captured pages by draft, page and version (the version changes with every correction).
#[derive(Default)]
pub struct CapturedPages {
    pages: Mutex<VecDeque<(String, Arc<Page>)>>,
}

impl CapturedPages {
    /// Keeps `page` under `key`, replacing what was kept under it.
    pub fn keep(&self, key: String, page: Arc<Page>) {
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        pages.retain(|(k, _)| *k != key);
        pages.push_back((key, page));
        let mut total: usize = pages.iter().map(|(_, p)| bytes(p)).sum();
        while total > BUDGET {
            let Some((_, oldest)) = pages.pop_front() else {
                break;
            };
            total -= bytes(&oldest);
        }
    }

    /// Takes the page kept under `key`, if it is still there.
    pub fn take(&self, key: &str) -> Option<Arc<Page>> {
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        let index = pages.iter().position(|(k, _)| k == key)?;
        pages.remove(index).map(|(_, page)| page)
    }
}

fn bytes(page: &Page) -> usize {
    match &page.raster {
        Raster::Rgb(rgb) => rgb.as_raw().len(),
        Raster::Gray(gray) | Raster::Bilevel(gray) => gray.as_raw().len(),
    }
}

/// The key of version `version` of page `page` of draft `draft`.
pub fn key(draft: &str, page: &str, version: u32) -> String {
    format!("{draft}/{page}/{version}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureMode, Geometry};

    fn page(side: u32) -> Arc<Page> {
        Arc::new(Page {
            raster: Raster::Gray(image::GrayImage::new(side, side)),
            dpi: 300.0,
            lossy_source: false,
            original: None,
            geometry: Geometry::untouched(CaptureMode::Scan),
            timings: Default::default(),
        })
    }

    #[test]
    fn pages_are_taken_once_and_the_oldest_go_past_the_budget() {
        let kept = CapturedPages::default();
        kept.keep(key("d", "p0-0", 0), page(10));
        assert!(kept.take(&key("d", "p0-0", 1)).is_none(), "another version");
        assert!(kept.take(&key("d", "p0-0", 0)).is_some());
        assert!(kept.take(&key("d", "p0-0", 0)).is_none(), "taken once");
        // 8 MiB pages: the budget keeps the newest 8.
        for i in 0..30 {
            kept.keep(key("d", &format!("p{i}"), 0), page(2896));
        }
        assert!(kept.take(&key("d", "p0", 0)).is_none());
        assert!(kept.take(&key("d", "p29", 0)).is_some());
    }
}
