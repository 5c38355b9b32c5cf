//! Where the certification stamp goes: a place where it covers none of the original —
//! found from what the page draws (the ink of its images, visible text, painted paths,
//! other annotations) — or, when the page has no such place, a certification page of the
//! same size appended after the last page.
//!
//! The page's content stream is interpreted just far enough to know where marks fall
//! (graphics state, text positioning, path bounds, image placement), and image XObjects
//! are decoded to find their ink: a scan is one page-sized image that is mostly paper.
//! Written by hand because no crate does this: a PDF renderer rasterises everything,
//! which costs more and still does not say what is ink. Sans-I/O: a parsed document in,
//! a rectangle out.

use std::io::Read;
use std::sync::Arc;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};
use serde::Serialize;

/// Grid cell of the occupancy map, in points.
const CELL: f32 = 2.0;
/// Clear space kept between the stamp and any mark, in points.
const GAP: f32 = 6.0;
/// Distance kept from the page edges, in points.
const EDGE: f32 = 12.0;
/// Distance of a corner stamp from the page edges, in points.
const CORNER_MARGIN: f32 = 24.0;
/// Stamp sizes tried, as fractions of the full size: below 0.75 its 8-point lines would
/// fall under 6 points, too small to read on paper.
const SCALES: [f32; 4] = [1.0, 0.9, 0.8, 0.75];
/// Nesting of form XObjects followed.
const MAX_DEPTH: usize = 8;
/// Largest image decoded to find its ink; larger ones count as all ink.
const MAX_DECODED_PIXELS: u64 = 80_000_000;

/// Which corner of the page carries the stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    /// Bottom right.
    BottomRight,
    /// Bottom left.
    BottomLeft,
    /// Top right.
    TopRight,
    /// Top left.
    TopLeft,
}

/// Where the stamp is asked to go; by default anywhere free on the last page, else on an
/// appended certification page.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// 1-based page number (no appended page then); `None` for the last page.
    pub page: Option<usize>,
    /// A fixed corner of that page instead of the free place found.
    pub corner: Option<Corner>,
    /// Allow the stamp to cover the page's content (only with `corner`).
    pub over_content: bool,
    /// The ink of page images, known from the rasters they were encoded from
    /// ([`crate::digitize`]): such an image is not decoded again.
    pub known_ink: Option<Arc<KnownInk>>,
}

/// Pixels per side of an [`InkMask`] block: 8 pixels are under 2 points at 300 dpi.
const BLOCK: usize = 8;

/// Where an image has ink, by blocks of [`BLOCK`]×[`BLOCK`] pixels (true when any
/// pixel of the block is dark or strongly coloured).
#[derive(Debug, Clone)]
pub struct InkMask {
    width: usize,
    height: usize,
    columns: usize,
    blocks: Vec<bool>,
}

impl InkMask {
    /// The mask of 8-bit samples, `channels` (1 gray, 3 RGB) per pixel, rows top down.
    pub fn new(samples: &[u8], width: usize, height: usize, channels: usize) -> InkMask {
        let columns = width.div_ceil(BLOCK);
        let mut blocks = vec![false; columns * height.div_ceil(BLOCK)];
        let row_len = width * channels;
        for (y, row) in samples
            .chunks_exact(row_len.max(1))
            .take(height)
            .enumerate()
        {
            let line = &mut blocks[(y / BLOCK) * columns..(y / BLOCK + 1) * columns];
            for (x, pixel) in row.chunks_exact(channels.max(1)).enumerate() {
                if is_ink(pixel) {
                    line[x / BLOCK] = true;
                }
            }
        }
        InkMask {
            width,
            height,
            columns,
            blocks,
        }
    }

    /// Marks the cells under the inked blocks of the image drawn with `ctm` (upright):
    /// every cell any pixel of an inked block falls in.
    fn mark(&self, ctm: Matrix, marks: &mut Marks) {
        let (columns, rows) = pixel_cells(ctm, self.width, self.height, marks);
        let spans = |cells: &[Option<usize>], n: usize| -> Vec<Option<(usize, usize)>> {
            (0..n.div_ceil(BLOCK))
                .map(|i| {
                    let (first, last) = (i * BLOCK, ((i + 1) * BLOCK).min(n) - 1);
                    cells[first]
                        .zip(cells[last])
                        .map(|(a, b)| (a.min(b), a.max(b)))
                })
                .collect()
        };
        let column_spans = spans(&columns, self.width);
        let row_spans = spans(&rows, self.height);
        for (blocks, row_span) in self.blocks.chunks_exact(self.columns).zip(row_spans) {
            let Some((r0, r1)) = row_span else { continue };
            for (_, span) in blocks
                .iter()
                .zip(&column_spans)
                .filter(|(inked, _)| **inked)
            {
                let Some((c0, c1)) = *span else { continue };
                for r in r0..=r1 {
                    marks.cells[r * marks.cols + c0..=r * marks.cols + c1].fill(true);
                }
            }
        }
    }
}

/// Images whose ink is known, with their stream's (encoded) bytes: a mask stands for
/// an image only when the file's bytes are these very bytes (compared in full: far
/// cheaper than decoding, and cheaper than hashing).
#[derive(Debug, Clone, Default)]
pub struct KnownInk {
    images: Vec<(Vec<u8>, InkMask)>,
}

impl KnownInk {
    /// Records the ink of the image whose stream bytes are `encoded`.
    pub fn add(&mut self, encoded: &[u8], mask: InkMask) {
        self.images.push((encoded.to_vec(), mask));
    }

    fn get(&self, encoded: &[u8]) -> Option<&InkMask> {
        self.images
            .iter()
            .find(|(bytes, _)| bytes.as_slice() == encoded)
            .map(|(_, mask)| mask)
    }
}

/// Where the stamp went, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StampPlace {
    /// 1-based page number.
    pub page: usize,
    /// The stamp's rectangle `[x0, y0, x1, y1]` in points.
    pub rect: [f32; 4],
    /// The page is a certification page appended after the original's last page.
    pub added_page: bool,
}

/// A decided place: on an existing page, or on a new page after page `after`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spot {
    /// On page `page` (1-based) at `rect`.
    OnPage {
        /// 1-based page number.
        page: usize,
        /// The stamp's rectangle.
        rect: [f32; 4],
    },
    /// On a new page of `media_box` after page `after` (1-based).
    NewPage {
        /// The page it follows.
        after: usize,
        /// The new page's size (that of page `after`).
        media_box: [f32; 4],
        /// The stamp's rectangle on it.
        rect: [f32; 4],
    },
}

/// Why the stamp could not be placed as asked.
#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    /// The requested page does not exist.
    #[error("the PDF has no page {0}")]
    NoSuchPage(usize),
    /// A fixed corner would cover the page's content.
    #[error(
        "the stamp in the {corner} corner of page {page} would cover the original's content; \
         leave out --stamp-corner to let sohoa find a free place, or give --stamp-over-content"
    )]
    WouldCover {
        /// 1-based page.
        page: usize,
        /// The corner, in words.
        corner: &'static str,
    },
    /// The requested page has no free place large enough.
    #[error(
        "page {0} has no free place for the stamp; leave out --stamp-page to add a certification page"
    )]
    NoRoom(usize),
    /// The page's structure could not be read.
    #[error("malformed PDF: {0}")]
    Malformed(String),
}

/// Decides where a stamp of `size` (points, at full scale) goes.
pub fn choose(
    doc: &Document,
    placement: &Placement,
    size: (f32, f32),
) -> Result<Spot, PlacementError> {
    let pages = doc.get_pages();
    let number = placement.page.unwrap_or(pages.len());
    let page_id = *pages
        .get(&(number as u32))
        .ok_or(PlacementError::NoSuchPage(number))?;
    let page_box = page_box(doc, page_id)?;
    if let Some(corner) = placement.corner {
        let rect = corner_rect(page_box, corner, size);
        let known = placement.known_ink.as_deref();
        if !placement.over_content && !occupancy(doc, page_id, page_box, known).is_free(rect, 0.0) {
            return Err(PlacementError::WouldCover {
                page: number,
                corner: corner_name(corner),
            });
        }
        return Ok(Spot::OnPage { page: number, rect });
    }
    let map = occupancy(doc, page_id, page_box, placement.known_ink.as_deref());
    if let Some(rect) = SCALES
        .iter()
        .find_map(|s| map.free_place((size.0 * s, size.1 * s)))
    {
        return Ok(Spot::OnPage { page: number, rect });
    }
    if placement.page.is_some() {
        return Err(PlacementError::NoRoom(number));
    }
    let rect = new_page_rect(page_box, size);
    Ok(Spot::NewPage {
        after: number,
        media_box: page_box,
        rect,
    })
}

/// The stamp near the top of an empty certification page, centred.
fn new_page_rect(page: [f32; 4], size: (f32, f32)) -> [f32; 4] {
    let width = page[2] - page[0];
    let scale = ((width - 2.0 * CORNER_MARGIN) / size.0).clamp(0.3, 1.0);
    let (w, h) = (size.0 * scale, size.1 * scale);
    let left = page[0] + (width - w) / 2.0;
    let top = page[3] - (2.0 * CORNER_MARGIN).min((page[3] - page[1] - h) / 2.0);
    [left, top - h, left + w, top]
}

fn corner_rect(page: [f32; 4], corner: Corner, (w, h): (f32, f32)) -> [f32; 4] {
    let [x0, y0, x1, y1] = page;
    let left = match corner {
        Corner::BottomLeft | Corner::TopLeft => x0 + CORNER_MARGIN,
        Corner::BottomRight | Corner::TopRight => (x1 - CORNER_MARGIN - w).max(x0),
    };
    let bottom = match corner {
        Corner::BottomLeft | Corner::BottomRight => y0 + CORNER_MARGIN,
        Corner::TopLeft | Corner::TopRight => (y1 - CORNER_MARGIN - h).max(y0),
    };
    [left, bottom, left + w, bottom + h]
}

fn corner_name(corner: Corner) -> &'static str {
    match corner {
        Corner::BottomRight => "bottom-right",
        Corner::BottomLeft => "bottom-left",
        Corner::TopRight => "top-right",
        Corner::TopLeft => "top-left",
    }
}

/// The page's crop box (else media box), followed up the page tree when inherited.
pub fn page_box(doc: &Document, page_id: ObjectId) -> Result<[f32; 4], PlacementError> {
    let malformed = |e: lopdf::Error| PlacementError::Malformed(e.to_string());
    let mut node = doc.get_dictionary(page_id).map_err(malformed)?;
    for _ in 0..32 {
        if let Ok(array) = node.get(b"CropBox").or_else(|_| node.get(b"MediaBox")) {
            let values: Vec<f32> = doc
                .dereference(array)
                .map_err(malformed)?
                .1
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_float().ok()).collect())
                .unwrap_or_default();
            if let [x0, y0, x1, y1] = values[..] {
                return Ok([x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)]);
            }
        }
        let parent = node
            .get(b"Parent")
            .and_then(Object::as_reference)
            .map_err(|_| PlacementError::Malformed("page without a MediaBox".into()))?;
        node = doc.get_dictionary(parent).map_err(malformed)?;
    }
    Err(PlacementError::Malformed("page tree too deep".into()))
}

/// Which parts of a page carry marks, on a grid of [`CELL`]-point cells.
pub struct Occupancy {
    page: [f32; 4],
    cols: usize,
    rows: usize,
    /// Summed-area table of marked cells, `(cols + 1) × (rows + 1)`.
    sums: Vec<u32>,
}

impl Occupancy {
    /// Whether `rect` (grown by `gap` on every side) touches no mark.
    pub fn is_free(&self, rect: [f32; 4], gap: f32) -> bool {
        let (c0, r0) = self.cell_of(rect[0] - gap, rect[1] - gap);
        let (c1, r1) = self.cell_of(rect[2] + gap, rect[3] + gap);
        self.count(c0, r0, (c1 + 1).min(self.cols), (r1 + 1).min(self.rows)) == 0
    }

    /// The lowest free place of `size` (then the rightmost in that row), inside the page
    /// edges and clear of every mark by [`GAP`].
    pub fn free_place(&self, (w, h): (f32, f32)) -> Option<[f32; 4]> {
        let [x0, y0, x1, y1] = self.page;
        let (left, right) = (x0 + EDGE, x1 - EDGE - w);
        let (bottom, top) = (y0 + EDGE, y1 - EDGE - h);
        if right < left || top < bottom {
            return None;
        }
        let mut y = bottom;
        while y <= top {
            let mut x = right;
            while x >= left {
                let rect = [x, y, x + w, y + h];
                if self.is_free(rect, GAP) {
                    return Some(rect);
                }
                x -= CELL;
            }
            y += CELL;
        }
        None
    }

    fn cell_of(&self, x: f32, y: f32) -> (usize, usize) {
        let col = ((x - self.page[0]) / CELL).floor().max(0.0) as usize;
        let row = ((y - self.page[1]) / CELL).floor().max(0.0) as usize;
        (col.min(self.cols), row.min(self.rows))
    }

    /// Marked cells in columns `c0..c1`, rows `r0..r1`.
    fn count(&self, c0: usize, r0: usize, c1: usize, r1: usize) -> u32 {
        if c1 <= c0 || r1 <= r0 {
            return 0;
        }
        let at = |c: usize, r: usize| self.sums[r * (self.cols + 1) + c];
        at(c1, r1) + at(c0, r0) - at(c0, r1) - at(c1, r0)
    }
}

/// The marks of page `page_id`: images' ink, visible text, painted paths, annotations.
pub fn occupancy(
    doc: &Document,
    page_id: ObjectId,
    page: [f32; 4],
    known: Option<&KnownInk>,
) -> Occupancy {
    let mut marks = Marks::new(page);
    let resources = page_resources(doc, page_id);
    let content = doc.get_page_content(page_id);
    Painter::new(doc, &mut marks, known).run(&content, &resources, IDENTITY, 0);
    if let Ok(page) = doc.get_dictionary(page_id) {
        for annotation in annotations(doc, page) {
            marks.rect(annotation);
        }
    }
    marks.into_occupancy()
}

/// Rectangles of the page's visible annotations.
fn annotations(doc: &Document, page: &Dictionary) -> Vec<[f32; 4]> {
    let Some(list) = page
        .get(b"Annots")
        .ok()
        .and_then(|a| doc.dereference(a).ok())
        .and_then(|(_, a)| a.as_array().ok())
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|a| doc.dereference(a).ok()?.1.as_dict().ok())
        .filter(|a| a.get(b"F").and_then(Object::as_i64).unwrap_or(0) & (2 | 32) == 0)
        .filter_map(|a| numbers(a.get(b"Rect").ok()?))
        .filter_map(|r| <[f32; 4]>::try_from(r).ok())
        .map(|[a, b, c, d]| [a.min(c), b.min(d), a.max(c), b.max(d)])
        .collect()
}

/// The marked cells of a page, before the summed-area table is built.
struct Marks {
    page: [f32; 4],
    cols: usize,
    rows: usize,
    cells: Vec<bool>,
}

impl Marks {
    fn new(page: [f32; 4]) -> Marks {
        let cols = (((page[2] - page[0]) / CELL).ceil() as usize).clamp(1, 4096);
        let rows = (((page[3] - page[1]) / CELL).ceil() as usize).clamp(1, 4096);
        Marks {
            page,
            cols,
            rows,
            cells: vec![false; cols * rows],
        }
    }

    fn fill_all(&mut self) {
        self.cells.fill(true);
    }

    /// Marks every cell `[x0, y0, x1, y1]` (page space) touches.
    fn rect(&mut self, [x0, y0, x1, y1]: [f32; 4]) {
        let col = |x: f32| {
            ((x - self.page[0]) / CELL)
                .floor()
                .clamp(0.0, self.cols as f32) as usize
        };
        let row = |y: f32| {
            ((y - self.page[1]) / CELL)
                .floor()
                .clamp(0.0, self.rows as f32) as usize
        };
        let (c0, c1) = (col(x0), (col(x1) + 1).min(self.cols));
        let (r0, r1) = (row(y0), (row(y1) + 1).min(self.rows));
        for r in r0..r1 {
            self.cells[r * self.cols + c0..r * self.cols + c1.max(c0)].fill(true);
        }
    }

    fn into_occupancy(self) -> Occupancy {
        let stride = self.cols + 1;
        let mut sums = vec![0u32; stride * (self.rows + 1)];
        for r in 0..self.rows {
            let mut row_sum = 0;
            for c in 0..self.cols {
                row_sum += u32::from(self.cells[r * self.cols + c]);
                sums[(r + 1) * stride + c + 1] = sums[r * stride + c + 1] + row_sum;
            }
        }
        Occupancy {
            page: self.page,
            cols: self.cols,
            rows: self.rows,
            sums,
        }
    }
}

/// A 2-D affine matrix `[a b c d e f]` as PDF writes it.
type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m` then `n` (PDF's `m × n`).
fn multiply(m: Matrix, n: Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

fn apply(m: Matrix, x: f32, y: f32) -> (f32, f32) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

/// The page-space bounds of the user-space rectangle `[x0, y0, x1, y1]` under `m`.
fn bounds(m: Matrix, [x0, y0, x1, y1]: [f32; 4]) -> [f32; 4] {
    let corners = [
        apply(m, x0, y0),
        apply(m, x1, y0),
        apply(m, x0, y1),
        apply(m, x1, y1),
    ];
    let xs = corners.map(|c| c.0);
    let ys = corners.map(|c| c.1);
    [
        xs.iter().copied().fold(f32::INFINITY, f32::min),
        ys.iter().copied().fold(f32::INFINITY, f32::min),
        xs.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        ys.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    ]
}

fn numbers(object: &Object) -> Option<Vec<f32>> {
    object
        .as_array()
        .ok()
        .map(|a| a.iter().filter_map(|v| v.as_float().ok()).collect())
}

/// The graphics state the painter tracks.
#[derive(Clone, Copy)]
struct Graphics {
    ctm: Matrix,
    fill_white: bool,
    stroke_white: bool,
}

/// The text state the painter tracks.
struct Text {
    matrix: Matrix,
    line: Matrix,
    size: f32,
    leading: f32,
    scale: f32,
    render: i64,
    two_byte: bool,
}

/// Walks content streams and marks where they paint.
struct Painter<'a> {
    doc: &'a Document,
    marks: &'a mut Marks,
    known: Option<&'a KnownInk>,
}

impl<'a> Painter<'a> {
    fn new(doc: &'a Document, marks: &'a mut Marks, known: Option<&'a KnownInk>) -> Self {
        Painter { doc, marks, known }
    }

    fn run(&mut self, content: &[u8], resources: &Dictionary, ctm: Matrix, depth: usize) {
        let Ok(content) = Content::decode(content) else {
            // Unreadable content may paint anywhere.
            self.marks.fill_all();
            return;
        };
        let mut graphics = Graphics {
            ctm,
            fill_white: false,
            stroke_white: false,
        };
        let mut stack = Vec::new();
        let mut text = Text {
            matrix: IDENTITY,
            line: IDENTITY,
            size: 12.0,
            leading: 0.0,
            scale: 1.0,
            render: 0,
            two_byte: false,
        };
        let mut path: Vec<(f32, f32)> = Vec::new();
        for op in &content.operations {
            let n: Vec<f32> = op
                .operands
                .iter()
                .filter_map(|o| o.as_float().ok())
                .collect();
            match op.operator.as_str() {
                "q" => stack.push(graphics),
                "Q" => graphics = stack.pop().unwrap_or(graphics),
                "cm" if n.len() == 6 => {
                    graphics.ctm = multiply([n[0], n[1], n[2], n[3], n[4], n[5]], graphics.ctm)
                }
                "g" => graphics.fill_white = n.first() == Some(&1.0),
                "G" => graphics.stroke_white = n.first() == Some(&1.0),
                "rg" => graphics.fill_white = n.len() == 3 && n.iter().all(|v| *v == 1.0),
                "RG" => graphics.stroke_white = n.len() == 3 && n.iter().all(|v| *v == 1.0),
                "k" => graphics.fill_white = n.len() == 4 && n.iter().all(|v| *v == 0.0),
                "K" => graphics.stroke_white = n.len() == 4 && n.iter().all(|v| *v == 0.0),
                "sc" | "scn" | "cs" => graphics.fill_white = false,
                "SC" | "SCN" | "CS" => graphics.stroke_white = false,
                "m" | "l" if n.len() == 2 => path.push(apply(graphics.ctm, n[0], n[1])),
                "c" | "v" | "y" => {
                    for p in n.chunks_exact(2) {
                        path.push(apply(graphics.ctm, p[0], p[1]));
                    }
                }
                "re" if n.len() == 4 => {
                    let [x, y, w, h] = [n[0], n[1], n[2], n[3]];
                    for (px, py) in [(x, y), (x + w, y), (x, y + h), (x + w, y + h)] {
                        path.push(apply(graphics.ctm, px, py));
                    }
                }
                "S" | "s" => self.paint(&mut path, !graphics.stroke_white),
                "f" | "F" | "f*" => self.paint(&mut path, !graphics.fill_white),
                "B" | "B*" | "b" | "b*" => {
                    self.paint(&mut path, !(graphics.fill_white && graphics.stroke_white))
                }
                "n" => path.clear(),
                "sh" => self.marks.fill_all(),
                "BT" => {
                    text.matrix = IDENTITY;
                    text.line = IDENTITY;
                }
                "Tf" => {
                    text.size = n.first().copied().unwrap_or(text.size);
                    text.two_byte = op
                        .operands
                        .first()
                        .and_then(|f| f.as_name().ok())
                        .is_some_and(|name| self.is_two_byte_font(resources, name));
                }
                "TL" => text.leading = n.first().copied().unwrap_or(0.0),
                "Tz" => text.scale = n.first().copied().unwrap_or(100.0) / 100.0,
                "Tr" => {
                    text.render = op
                        .operands
                        .first()
                        .and_then(|o| o.as_i64().ok())
                        .unwrap_or(0)
                }
                "Td" | "TD" if n.len() == 2 => {
                    if op.operator == "TD" {
                        text.leading = -n[1];
                    }
                    text.line = multiply([1.0, 0.0, 0.0, 1.0, n[0], n[1]], text.line);
                    text.matrix = text.line;
                }
                "Tm" if n.len() == 6 => {
                    text.line = [n[0], n[1], n[2], n[3], n[4], n[5]];
                    text.matrix = text.line;
                }
                "T*" => next_line(&mut text),
                "Tj" | "'" | "\"" => {
                    if op.operator != "Tj" {
                        next_line(&mut text);
                    }
                    if let Some(Object::String(s, _)) = op.operands.last() {
                        self.show(&mut text, &graphics, s.len(), 0.0);
                    }
                }
                "TJ" => {
                    if let Some(Ok(items)) = op.operands.first().map(Object::as_array) {
                        for item in items {
                            match item {
                                Object::String(s, _) => {
                                    self.show(&mut text, &graphics, s.len(), 0.0)
                                }
                                other => {
                                    let adjust = other.as_float().unwrap_or(0.0);
                                    self.show(&mut text, &graphics, 0, adjust);
                                }
                            }
                        }
                    }
                }
                "Do" => {
                    if let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) {
                        self.draw_xobject(resources, name, graphics.ctm, depth);
                    }
                }
                "BI" | "ID" | "EI" => self.marks.rect(bounds(graphics.ctm, [0.0, 0.0, 1.0, 1.0])),
                _ => {}
            }
        }
    }

    fn paint(&mut self, path: &mut Vec<(f32, f32)>, visible: bool) {
        if visible && !path.is_empty() {
            let xs = path.iter().map(|p| p.0);
            let ys = path.iter().map(|p| p.1);
            let rect = [
                xs.clone().fold(f32::INFINITY, f32::min),
                ys.clone().fold(f32::INFINITY, f32::min),
                xs.fold(f32::NEG_INFINITY, f32::max),
                ys.fold(f32::NEG_INFINITY, f32::max),
            ];
            self.marks.rect(rect);
        }
        path.clear();
    }

    /// Shows `bytes` bytes of text (or moves by a `TJ` adjustment): glyph widths are
    /// taken as 0.6 em, wide enough for Latin and Vietnamese text faces.
    fn show(&mut self, text: &mut Text, graphics: &Graphics, bytes: usize, adjust: f32) {
        let glyphs = if text.two_byte { bytes / 2 } else { bytes };
        let width = (glyphs as f32 * 0.6 - adjust / 1000.0) * text.size * text.scale;
        if glyphs > 0 && text.render != 3 && text.render != 7 {
            let box_ = [0.0, -0.25 * text.size, width, 0.9 * text.size];
            self.marks
                .rect(bounds(multiply(text.matrix, graphics.ctm), box_));
        }
        text.matrix = multiply([1.0, 0.0, 0.0, 1.0, width, 0.0], text.matrix);
    }

    fn is_two_byte_font(&self, resources: &Dictionary, name: &[u8]) -> bool {
        entry(self.doc, resources, b"Font", name)
            .and_then(|f| f.get(b"Subtype").ok()?.as_name().ok())
            == Some(b"Type0".as_slice())
    }

    fn draw_xobject(&mut self, resources: &Dictionary, name: &[u8], ctm: Matrix, depth: usize) {
        let Some(stream) = xobject(self.doc, resources, name) else {
            return;
        };
        let subtype = stream.dict.get(b"Subtype").and_then(Object::as_name).ok();
        if subtype == Some(b"Image") {
            image_ink(self.doc, stream, ctm, self.marks, self.known);
        } else if subtype == Some(b"Form") && depth < MAX_DEPTH {
            let matrix = stream
                .dict
                .get(b"Matrix")
                .ok()
                .and_then(numbers)
                .and_then(|m| <[f32; 6]>::try_from(m).ok())
                .unwrap_or(IDENTITY);
            let inner = stream
                .dict
                .get(b"Resources")
                .ok()
                .and_then(|r| self.doc.dereference(r).ok()?.1.as_dict().ok().cloned())
                .unwrap_or_else(|| resources.clone());
            match stream.decompressed_content() {
                Ok(content) => self.run(&content, &inner, multiply(matrix, ctm), depth + 1),
                Err(_) => {
                    let bbox = stream.dict.get(b"BBox").ok().and_then(numbers);
                    match bbox.and_then(|b| <[f32; 4]>::try_from(b).ok()) {
                        Some(b) => self.marks.rect(bounds(multiply(matrix, ctm), b)),
                        None => self.marks.fill_all(),
                    }
                }
            }
        }
    }
}

fn next_line(text: &mut Text) {
    text.line = multiply([1.0, 0.0, 0.0, 1.0, 0.0, -text.leading], text.line);
    text.matrix = text.line;
}

/// The page's resources, inherited ones merged in.
fn page_resources(doc: &Document, page_id: ObjectId) -> Dictionary {
    let (own, inherited) = doc
        .get_page_resources(page_id)
        .unwrap_or((None, Vec::new()));
    let mut merged = Dictionary::new();
    for id in inherited.iter().rev() {
        if let Ok(d) = doc.get_dictionary(*id) {
            merge(&mut merged, d);
        }
    }
    if let Some(d) = own {
        merge(&mut merged, d);
    }
    merged
}

fn merge(into: &mut Dictionary, from: &Dictionary) {
    for (k, v) in from.iter() {
        into.set(k.clone(), v.clone());
    }
}

/// `resources[category][name]` as a dictionary.
fn entry<'a>(
    doc: &'a Document,
    resources: &'a Dictionary,
    category: &[u8],
    name: &[u8],
) -> Option<&'a Dictionary> {
    let group = doc
        .dereference(resources.get(category).ok()?)
        .ok()?
        .1
        .as_dict()
        .ok()?;
    doc.dereference(group.get(name).ok()?)
        .ok()?
        .1
        .as_dict()
        .ok()
}

fn xobject<'a>(
    doc: &'a Document,
    resources: &'a Dictionary,
    name: &[u8],
) -> Option<&'a lopdf::Stream> {
    let group = doc
        .dereference(resources.get(b"XObject").ok()?)
        .ok()?
        .1
        .as_dict()
        .ok()?;
    doc.dereference(group.get(name).ok()?)
        .ok()?
        .1
        .as_stream()
        .ok()
}

/// Marks the ink of an image drawn with `ctm`: its dark or coloured pixels when it is
/// drawn upright and can be decoded, else its whole rectangle.
fn image_ink(
    doc: &Document,
    image: &lopdf::Stream,
    ctm: Matrix,
    marks: &mut Marks,
    known: Option<&KnownInk>,
) {
    // An image with a stencil mask paints only where the mask does (mixed raster
    // content's foreground): its ink is the mask's.
    let image = stencil_mask(doc, image).unwrap_or(image);
    let upright = ctm[1].abs() < 1e-3 && ctm[2].abs() < 1e-3;
    // A known mask maps onto the unit square the image fills, whatever its resolution.
    if let Some(mask) = known
        .filter(|_| upright)
        .and_then(|k| k.get(&image.content))
    {
        mask.mark(ctm, marks);
        return;
    }
    let marked = upright && mark_decoded_ink(doc, image, ctm, marks).is_some();
    if !marked {
        marks.rect(bounds(ctm, [0.0, 0.0, 1.0, 1.0]));
    }
}

/// The image's `/Mask` when it is a stencil (an image mask stream, not a colour-key
/// array).
fn stencil_mask<'a>(doc: &'a Document, image: &lopdf::Stream) -> Option<&'a lopdf::Stream> {
    let mask = image.dict.get(b"Mask").ok()?.as_reference().ok()?;
    let mask = doc.get_object(mask).ok()?.as_stream().ok()?;
    let is_mask = mask.dict.get(b"ImageMask").and_then(Object::as_bool);
    is_mask.unwrap_or(false).then_some(mask)
}

/// Marks the cells under an upright image's dark (luminance below 170) or strongly
/// coloured pixels, fed one row of 8-bit samples at a time. Each cell's run of pixels is
/// tested at once, and not at all once the cell is marked.
struct InkRows<'m> {
    marks: &'m mut Marks,
    /// `(first byte, end byte, cell column)` of each run of pixels falling in one cell.
    runs: Vec<(usize, usize, usize)>,
    /// The cell row of each pixel row, `None` off the page.
    rows: Vec<Option<usize>>,
    channels: usize,
}

impl<'m> InkRows<'m> {
    /// For an image of `width`×`height` pixels of `channels` samples, drawn with `ctm`.
    fn new(
        ctm: Matrix,
        (width, height): (usize, usize),
        channels: usize,
        marks: &'m mut Marks,
    ) -> Self {
        let (columns, rows) = pixel_cells(ctm, width, height, marks);
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        for (x, cell) in columns.into_iter().enumerate() {
            let Some(cell) = cell else { continue };
            match runs.last_mut() {
                Some(run) if run.2 == cell && run.1 == x * channels => run.1 = (x + 1) * channels,
                _ => runs.push((x * channels, (x + 1) * channels, cell)),
            }
        }
        InkRows {
            marks,
            runs,
            rows,
            channels,
        }
    }

    /// Marks the ink of pixel row `y`.
    fn row(&mut self, y: usize, samples: &[u8]) {
        let Some(Some(cell_row)) = self.rows.get(y).copied() else {
            return;
        };
        if !has_ink(samples, self.channels) {
            return;
        }
        let cols = self.marks.cols;
        let cells = &mut self.marks.cells[cell_row * cols..(cell_row + 1) * cols];
        for &(start, end, cell) in &self.runs {
            if !cells[cell] {
                if let Some(run) = samples.get(start..end) {
                    cells[cell] = has_ink(run, self.channels);
                }
            }
        }
    }
}

/// Whether any pixel of `run` is dark or strongly coloured.
fn has_ink(run: &[u8], channels: usize) -> bool {
    match channels {
        // A minimum over the run: the compiler vectorises it.
        1 => run.iter().fold(u8::MAX, |m, &v| m.min(v)) < 170,
        _ => {
            // Paper first: when every sample is light and all lie within 60 of each
            // other, no pixel is dark or strongly coloured.
            let (low, high) = run
                .iter()
                .fold((u8::MAX, 0), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            (low < 170 || high - low > 60) && run.chunks_exact(channels).any(is_ink)
        }
    }
}

/// The grid cell of each pixel column and row of an image drawn upright with `ctm`
/// (filling the unit square, row 0 at the top); `None` off the page.
fn pixel_cells(
    ctm: Matrix,
    width: usize,
    height: usize,
    marks: &Marks,
) -> (Vec<Option<usize>>, Vec<Option<usize>>) {
    let cell_of = |origin: f32, scale: f32, i: usize, n: usize, page_origin: f32, limit: usize| {
        let at = origin + scale * (i as f32 + 0.5) / n as f32;
        let cell = ((at - page_origin) / CELL).floor();
        (cell >= 0.0 && (cell as usize) < limit).then_some(cell as usize)
    };
    let columns = (0..width)
        .map(|x| cell_of(ctm[4], ctm[0], x, width, marks.page[0], marks.cols))
        .collect();
    let (top, span) = (ctm[5] + ctm[3], -ctm[3]);
    let rows = (0..height)
        .map(|y| cell_of(top, span, y, height, marks.page[1], marks.rows))
        .collect();
    (columns, rows)
}

fn is_ink(pixel: &[u8]) -> bool {
    match *pixel {
        [v] => v < 170,
        [r, g, b] => {
            let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
            let luma = (299 * r + 587 * g + 114 * b) / 1000;
            luma < 170 || r.max(g).max(b) - r.min(g).min(b) > 60
        }
        _ => true,
    }
}

/// Marks the ink of an 8-bit gray or RGB image (Flate, with or without a PNG predictor,
/// or uncompressed), a JPEG, or a bitonal CCITT or JBIG2 image; `None` for anything else
/// (masks, other colour spaces) or damaged data.
fn mark_decoded_ink(
    doc: &Document,
    image: &lopdf::Stream,
    ctm: Matrix,
    marks: &mut Marks,
) -> Option<()> {
    let dict = &image.dict;
    let stencil = dict
        .get(b"ImageMask")
        .and_then(Object::as_bool)
        .unwrap_or(false);
    let width = usize::try_from(dict.get(b"Width").ok()?.as_i64().ok()?).ok()?;
    let height = usize::try_from(dict.get(b"Height").ok()?.as_i64().ok()?).ok()?;
    if width == 0 || height == 0 || (width as u64) * (height as u64) > MAX_DECODED_PIXELS {
        return None;
    }
    let filter = dict.get(b"Filter").ok().and_then(|f| match f {
        Object::Array(a) if a.len() == 1 => a[0].as_name().ok(),
        Object::Array(_) => Some(b"(chain)".as_slice()),
        other => other.as_name().ok(),
    });
    let whole = |samples: Vec<u8>, channels: usize, marks: &mut Marks| {
        let row = width * channels;
        if samples.len() < row * height {
            return None;
        }
        let mut ink = InkRows::new(ctm, (width, height), channels, marks);
        for (y, samples) in samples.chunks_exact(row).take(height).enumerate() {
            ink.row(y, samples);
        }
        Some(())
    };
    match filter {
        Some(b"CCITTFaxDecode" | b"JBIG2Decode") => {
            let limits = crate::capture::DecodeLimits {
                max_pixels: MAX_DECODED_PIXELS,
                ..Default::default()
            };
            // Black where the image is black, or where a stencil paints.
            let gray = crate::capture::bilevel_samples(doc, image, &limits).ok()??;
            return whole(gray.into_raw(), 1, marks);
        }
        // Other stencils are painted whole.
        _ if stencil => return None,
        Some(b"DCTDecode") => {
            let decoded =
                image::load_from_memory_with_format(&image.content, image::ImageFormat::Jpeg)
                    .ok()?;
            if (decoded.width() as usize, decoded.height() as usize) != (width, height) {
                return None;
            }
            return if decoded.color().has_color() {
                whole(decoded.into_rgb8().into_raw(), 3, marks)
            } else {
                whole(decoded.into_luma8().into_raw(), 1, marks)
            };
        }
        _ => {}
    }
    let space = doc
        .dereference(dict.get(b"ColorSpace").ok()?)
        .ok()?
        .1
        .as_name()
        .ok()?;
    let channels = match space {
        b"DeviceGray" => 1,
        b"DeviceRGB" => 3,
        _ => return None,
    };
    if dict
        .get(b"BitsPerComponent")
        .and_then(Object::as_i64)
        .ok()?
        != 8
    {
        return None;
    }
    match filter {
        None => whole(image.content.clone(), channels, marks),
        Some(b"FlateDecode") => {
            let mut ink = InkRows::new(ctm, (width, height), channels, marks);
            inflate_rows(image, width * channels, height, channels, |y, row| {
                ink.row(y, row)
            })
        }
        _ => None,
    }
}

/// Inflates a Flate image row by row, undoing its PNG predictor, and hands each row of
/// samples to `visit`: two rows in memory instead of the whole page. Written here because
/// lopdf's general decoder inflates the whole stream first and takes ~4× as long.
fn inflate_rows(
    image: &lopdf::Stream,
    row: usize,
    height: usize,
    bpp: usize,
    mut visit: impl FnMut(usize, &[u8]),
) -> Option<()> {
    let predictor = image
        .dict
        .get(b"DecodeParms")
        .ok()
        .and_then(|p| p.as_dict().ok())
        .and_then(|p| p.get(b"Predictor").ok()?.as_i64().ok())
        .unwrap_or(1);
    let png = predictor >= 10;
    if !png && predictor != 1 {
        return None;
    }
    let stride = row + usize::from(png);
    let mut reader = flate2::bufread::ZlibDecoder::new(image.content.as_slice());
    // The row above the first is zeros, as PNG's predictors assume.
    let (mut previous, mut current) = (vec![0u8; stride], vec![0u8; stride]);
    for y in 0..height {
        reader.read_exact(&mut current).ok()?;
        if png {
            let (kind, samples) = current.split_first_mut()?;
            unfilter(*kind, &previous[1..], samples, bpp)?;
            visit(y, samples);
        } else {
            visit(y, &current);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    Some(())
}

/// Undoes one row's PNG filter against the row above (`up`), in place.
fn unfilter(kind: u8, up: &[u8], row: &mut [u8], bpp: usize) -> Option<()> {
    let n = row.len().min(up.len());
    let (up, row) = (&up[..n], &mut row[..n]);
    match kind {
        0 => {}
        // One-byte pixels carry the left neighbour in a register: read back from memory,
        // each byte would wait for the store of the one before it.
        1 if bpp == 1 => {
            let mut left = 0u8;
            for x in row.iter_mut() {
                left = x.wrapping_add(left);
                *x = left;
            }
        }
        1 => {
            for i in bpp..n {
                row[i] = row[i].wrapping_add(row[i - bpp]);
            }
        }
        2 => {
            for (o, u) in row.iter_mut().zip(up) {
                *o = o.wrapping_add(*u);
            }
        }
        3 => {
            for i in 0..n {
                let left = if i >= bpp { row[i - bpp] } else { 0 };
                row[i] = row[i].wrapping_add(((u16::from(left) + u16::from(up[i])) / 2) as u8);
            }
        }
        4 if bpp == 1 => {
            let (mut left, mut upper_left) = (0u8, 0u8);
            for (x, &up) in row.iter_mut().zip(up) {
                left = x.wrapping_add(paeth(left, up, upper_left));
                *x = left;
                upper_left = up;
            }
        }
        4 => {
            for i in 0..n {
                let (left, upper_left) = if i >= bpp {
                    (row[i - bpp], up[i - bpp])
                } else {
                    (0, 0)
                };
                row[i] = row[i].wrapping_add(paeth(left, up[i], upper_left));
            }
        }
        _ => return None,
    }
    Some(())
}

/// PNG's Paeth predictor, in the form that keeps the work on `left` short: `|b - c|`
/// does not depend on the pixel just decoded, so only two comparisons wait for it.
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (a16, b16, c16) = (i16::from(a), i16::from(b), i16::from(c));
    let pa = (b16 - c16).abs();
    let pb = (a16 - c16).abs();
    let pc = (a16 - c16 + b16 - c16).abs();
    // Masks, not branches: which neighbour wins changes from pixel to pixel, and a
    // mispredicted branch costs more than the whole selection.
    let nearer = select(pb < pa, b, a);
    select(pc < pa.min(pb), c, nearer)
}

/// `if_true` when `condition` holds, else `if_false`, without a branch.
fn select(condition: bool, if_true: u8, if_false: u8) -> u8 {
    let mask = 0u8.wrapping_sub(u8::from(condition));
    (if_true & mask) | (if_false & !mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{dictionary, Stream};

    const A4: [f32; 4] = [0.0, 0.0, 595.0, 842.0];

    /// A one-page document drawing `content` with Helvetica as /F1.
    fn page(content: &str, media_box: [f32; 4]) -> (Document, ObjectId) {
        let mut doc = Document::with_version("1.7");
        let pages = doc.new_object_id();
        let font = doc.add_object(
            dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" },
        );
        let contents = doc.add_object(Stream::new(dictionary! {}, content.as_bytes().to_vec()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages, "Contents" => contents,
            "MediaBox" => media_box.iter().map(|v| Object::Real(*v)).collect::<Vec<_>>(),
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        });
        doc.objects.insert(
            pages,
            Object::Dictionary(
                dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
            ),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
        doc.trailer.set("Root", catalog);
        (doc, page)
    }

    /// `lines` lines of 11-point text from the top margin down.
    fn text_lines(lines: usize) -> String {
        text_lines_from(lines, 770.0)
    }

    fn text_lines_from(lines: usize, top: f32) -> String {
        let mut s = format!("BT /F1 11 Tf 14 TL 72 {top} Td\n");
        for _ in 0..lines {
            s.push_str(
                "(Cong hoa xa hoi chu nghia Viet Nam - Doc lap Tu do Hanh phuc 123) Tj T*\n",
            );
        }
        s.push_str("ET");
        s
    }

    fn intersects(a: [f32; 4], b: [f32; 4]) -> bool {
        a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
    }

    const SIZE: (f32, f32) = (270.0, 118.0);

    #[test]
    fn a_half_page_gets_the_stamp_below_its_text() {
        let (doc, id) = page(&text_lines(20), A4);
        let spot = choose(&doc, &Placement::default(), SIZE).unwrap();
        let Spot::OnPage { page: 1, rect } = spot else {
            panic!("{spot:?}")
        };
        // The text runs from y = 770 down 20 lines of 14 pt.
        assert!(rect[3] < 770.0 - 19.0 * 14.0 - 3.0, "{rect:?}");
        assert!(occupancy(&doc, id, A4, None).is_free(rect, 0.0));
    }

    #[test]
    fn a_full_page_gets_a_certification_page() {
        let (doc, _) = page(&text_lines(52), A4);
        match choose(&doc, &Placement::default(), SIZE).unwrap() {
            Spot::NewPage {
                after: 1,
                media_box,
                rect,
            } => {
                assert_eq!(media_box, A4);
                assert!(rect[2] - rect[0] >= 270.0 * 0.99);
            }
            other => panic!("{other:?}"),
        }
        let on_page_one = Placement {
            page: Some(1),
            ..Placement::default()
        };
        assert!(matches!(
            choose(&doc, &on_page_one, SIZE),
            Err(PlacementError::NoRoom(1))
        ));
    }

    #[test]
    fn a_fixed_corner_over_text_is_refused_unless_asked() {
        let (doc, _) = page(&text_lines(52), A4);
        let mut corner = Placement {
            corner: Some(Corner::BottomRight),
            ..Placement::default()
        };
        assert!(matches!(
            choose(&doc, &corner, SIZE),
            Err(PlacementError::WouldCover { page: 1, .. })
        ));
        corner.over_content = true;
        assert!(matches!(
            choose(&doc, &corner, SIZE),
            Ok(Spot::OnPage { .. })
        ));
    }

    #[test]
    fn invisible_text_and_white_paint_leave_room() {
        let content = format!("1 g 0 0 595 842 re f 3 Tr {}", text_lines(52));
        let (doc, _) = page(&content, A4);
        assert!(matches!(
            choose(&doc, &Placement::default(), SIZE),
            Ok(Spot::OnPage { .. })
        ));
    }

    #[test]
    fn a_scanned_page_is_read_by_its_ink() {
        // A 100×140 gray "scan" over the whole page: dark rows in the top 60 %.
        let (w, h) = (100usize, 140usize);
        let samples: Vec<u8> = (0..w * h)
            .map(|i| {
                if i / w < 84 && (i / w) % 4 == 0 {
                    0
                } else {
                    250
                }
            })
            .collect();
        let (mut doc, page_id) = page("q 595 0 0 842 0 0 cm /Im0 Do Q", A4);
        let image = doc.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
            samples,
        ));
        let page = doc.get_dictionary_mut(page_id).unwrap();
        page.set(
            "Resources",
            dictionary! { "XObject" => dictionary! { "Im0" => image } },
        );
        let Spot::OnPage { rect, .. } = choose(&doc, &Placement::default(), SIZE).unwrap() else {
            panic!("no room found on a 60 % page")
        };
        let ink_bottom = 842.0 * (1.0 - 84.0 / 140.0);
        assert!(rect[3] <= ink_bottom, "{rect:?} under {ink_bottom}");
        // The same image with no readable samples counts as all ink.
        let image = doc.get_object_mut(image).unwrap().as_stream_mut().unwrap();
        image.dict.set("ColorSpace", "DeviceN");
        assert!(matches!(
            choose(&doc, &Placement::default(), SIZE),
            Ok(Spot::NewPage { .. })
        ));
    }

    /// Whether the cell at column `c`, row `r` is marked.
    fn marked(map: &Occupancy, c: usize, r: usize) -> bool {
        map.count(c, r, c + 1, r + 1) > 0
    }

    #[test]
    fn known_ink_stands_for_the_image_it_was_computed_from_and_no_other() {
        // A 300×420 gray scan (about 36 dpi on A4): text rows in the top half and a
        // signature blot low on the right.
        let (w, h) = (300usize, 420usize);
        let samples: Vec<u8> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let text = y < 210 && y % 6 < 2 && (30..270).contains(&x);
                let blot = (300..330).contains(&y) && (200..260).contains(&x);
                if text || blot {
                    20
                } else {
                    245
                }
            })
            .collect();
        let (mut doc, page_id) = page("q 595 0 0 842 0 0 cm /Im0 Do Q", A4);
        let image = doc.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
            samples.clone(),
        ));
        let page = doc.get_dictionary_mut(page_id).unwrap();
        page.set(
            "Resources",
            dictionary! { "XObject" => dictionary! { "Im0" => image } },
        );
        let mut known = KnownInk::default();
        known.add(&samples, InkMask::new(&samples, w, h, 1));
        let decoded = occupancy(&doc, page_id, A4, None);
        let from_mask = occupancy(&doc, page_id, A4, Some(&known));
        for r in 0..decoded.rows {
            for c in 0..decoded.cols {
                assert!(
                    !marked(&decoded, c, r) || marked(&from_mask, c, r),
                    "cell {c},{r} has ink the mask misses"
                );
            }
        }
        let with_mask = Placement {
            known_ink: Some(Arc::new(known)),
            ..Placement::default()
        };
        let Spot::OnPage { rect, .. } = choose(&doc, &with_mask, SIZE).unwrap() else {
            panic!("room below the text")
        };
        assert!(decoded.is_free(rect, 0.0), "{rect:?}");
        // A mask for other bytes is not used: the image is decoded.
        let mut other = KnownInk::default();
        other.add(b"other bytes", InkMask::new(&vec![255; w * h], w, h, 1));
        let elsewhere = occupancy(&doc, page_id, A4, Some(&other));
        assert_eq!(elsewhere.sums, decoded.sums);
    }

    #[test]
    fn a_masked_image_has_ink_only_where_its_stencil_paints() {
        // A page-sized image, dark all over, masked by a stencil that paints its top half
        // only (mixed raster content's foreground).
        let (w, h) = (64u16, 96u16);
        let mut encoder = fax::encoder::Encoder::new(fax::VecWriter::new());
        for y in 0..h {
            let colour = if y < h / 2 {
                fax::Color::Black
            } else {
                fax::Color::White
            };
            let Ok(()) = encoder.encode_line(std::iter::repeat_n(colour, w.into()), w);
        }
        let Ok(writer) = encoder.finish();
        let (mut doc, page_id) = page("q 595 0 0 842 0 0 cm /Im0 Do Q", A4);
        let mask = doc.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64,
            "Height" => h as i64, "ImageMask" => true, "BitsPerComponent" => 1,
            "Filter" => "CCITTFaxDecode",
            "DecodeParms" => dictionary! { "K" => -1, "Columns" => w as i64, "Rows" => h as i64 } },
            writer.finish(),
        ));
        let image = doc.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 8, "Height" => 12,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Mask" => mask },
            vec![10; 8 * 12],
        ));
        let resources = dictionary! { "XObject" => dictionary! { "Im0" => image } };
        doc.get_dictionary_mut(page_id)
            .unwrap()
            .set("Resources", resources);
        let map = occupancy(&doc, page_id, A4, None);
        assert!(map.is_free([20.0, 20.0, 575.0, 400.0], 0.0));
        assert!(!map.is_free([20.0, 440.0, 575.0, 822.0], 0.0));
    }

    #[test]
    fn png_predictors_are_undone() {
        // Row 0 "Sub", row 1 "Up", row 2 "Paeth" of a 3×3 gray image.
        let rows = [[1u8, 10, 5, 5], [2, 1, 1, 1], [4, 0, 0, 0]];
        let mut out = [0u8; 9];
        let mut previous = [0u8; 3];
        for (y, line) in rows.iter().enumerate() {
            let mut row = [line[1], line[2], line[3]];
            unfilter(line[0], &previous, &mut row, 1).unwrap();
            out[y * 3..y * 3 + 3].copy_from_slice(&row);
            previous = row;
        }
        assert_eq!(out, [10, 15, 20, 11, 16, 21, 11, 16, 21]);
        assert!(unfilter(9, &[0], &mut [0], 1).is_none());
    }

    #[test]
    fn tiny_and_landscape_pages_are_handled() {
        let (doc, _) = page(&text_lines(3), [0.0, 0.0, 200.0, 120.0]);
        match choose(&doc, &Placement::default(), SIZE).unwrap() {
            Spot::NewPage {
                rect, media_box, ..
            } => {
                assert!(
                    rect[0] >= media_box[0] && rect[2] <= media_box[2],
                    "{rect:?}"
                );
                assert!(
                    rect[1] >= media_box[1] && rect[3] <= media_box[3],
                    "{rect:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        let landscape = [0.0, 0.0, 842.0, 595.0];
        let (doc, id) = page(&text_lines_from(20, 540.0), landscape);
        let Spot::OnPage { rect, .. } = choose(&doc, &Placement::default(), SIZE).unwrap() else {
            panic!("landscape half page has room")
        };
        assert!(occupancy(&doc, id, landscape, None).is_free(rect, 0.0));
        let text = [72.0, 540.0 - 19.0 * 14.0 - 3.0, 600.0, 550.0];
        assert!(!intersects(rect, text));
    }
}
