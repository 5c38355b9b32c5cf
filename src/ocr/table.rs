//! Ruled tables read cell by cell.
//!
//! Tesseract reads a table with wrapped cells line by line across the cells ("Giấy khai
//! sinh Bản sao có chứng thực" from two cells, then their second lines). The table's
//! ruling lines are found in the page image (long thin runs of dark pixels on a reduced
//! copy); where horizontal and vertical rulings cross into a grid of at least two rows and
//! two columns, every word is put in the cell its centre falls in, and the cells are read
//! row by row, left to right, each cell's words in the order Tesseract read them. Words
//! outside any table keep their place. Written by hand: no crate finds table grids.

use image::GrayImage;

use super::{Line, RecognizedPage, Word};

/// Working copies are reduced this many times (a 300-dpi page is read at 75 dpi).
const REDUCTION: u32 = 4;
/// Samples darker than this are ink.
const DARK: u8 = 128;
/// Shortest horizontal ruling, as a fraction of the page width.
const MIN_HORIZONTAL: f32 = 0.08;
/// Shortest vertical ruling, in pixels of the page per dot of its resolution (inches):
/// a table row holds at least one line of text.
const MIN_VERTICAL_IN: f32 = 0.25;
/// Thickest ruling, in inches: thicker dark runs are pictures or filled areas.
const MAX_THICKNESS_IN: f32 = 0.04;
/// Rulings this close (inches) are one, and a ruling this close to another's end meets it.
const TOLERANCE_IN: f32 = 0.06;

/// A straight ruling in page pixels: its position across (y of a horizontal, x of a
/// vertical) and its extent along.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rule {
    at: f32,
    from: f32,
    to: f32,
}

/// One table: its horizontal rulings' positions, top to bottom, and for each band between
/// two of them, the positions of the vertical rulings crossing it, left to right.
#[derive(Debug)]
struct Grid {
    rows: Vec<f32>,
    edges: Vec<Vec<f32>>,
}

impl Grid {
    fn new(mut rows: Vec<f32>, verticals: &[Rule]) -> Grid {
        rows.sort_by(f32::total_cmp);
        let edges = rows
            .windows(2)
            .map(|band| {
                let middle = (band[0] + band[1]) / 2.0;
                let mut edges: Vec<f32> = verticals
                    .iter()
                    .filter(|v| v.from <= middle && middle <= v.to)
                    .map(|v| v.at)
                    .collect();
                edges.sort_by(f32::total_cmp);
                edges
            })
            .collect();
        Grid { rows, edges }
    }

    /// (row, column) of the cell holding point (`x`, `y`); `None` outside the grid.
    fn cell_of(&self, x: f32, y: f32) -> Option<(usize, usize)> {
        let row = self.rows.windows(2).position(|r| r[0] <= y && y < r[1])?;
        let column = self.edges[row]
            .windows(2)
            .position(|e| e[0] <= x && x < e[1])?;
        Some((row, column))
    }

    /// Cells with at least two columns in some row and at least two rows: a frame around
    /// a page or a boxed paragraph is not a table.
    fn is_table(&self) -> bool {
        self.rows.len() >= 3 && self.edges.iter().any(|e| e.len() >= 3)
    }
}

/// `page` with the words of every ruled table of `gray` (the image the word boxes are in,
/// `dpi` its resolution) read cell by cell.
pub fn in_cell_order(page: RecognizedPage, gray: &GrayImage, dpi: f32) -> RecognizedPage {
    let grids = find_grids(gray, dpi);
    if grids.is_empty() {
        return page;
    }
    reorder(page, &grids)
}

/// Table grids of the page, found from its ruling lines.
fn find_grids(gray: &GrayImage, dpi: f32) -> Vec<Grid> {
    let small = crate::capture::deskew::reduce(gray, REDUCTION);
    let scale = REDUCTION as f32;
    let (w, h) = (small.width() as usize, small.height() as usize);
    let dark: Vec<bool> = small.as_raw().iter().map(|&v| v < DARK).collect();
    let thickness = ((MAX_THICKNESS_IN * dpi / scale).ceil() as usize).max(2);
    let min_h = ((MIN_HORIZONTAL * w as f32) as usize).max(8);
    let min_v = ((MIN_VERTICAL_IN * dpi / scale) as usize).max(6);
    let tolerance = TOLERANCE_IN * dpi;
    let horizontal = runs(&dark, h, w, min_h, thickness, |row, x| row * w + x);
    let vertical = runs(&dark, w, h, min_v, thickness, |column, y| y * w + column);
    let scaled = |r: Vec<Rule>| {
        merge(
            r.into_iter()
                .map(|r| Rule {
                    at: (r.at + 0.5) * scale,
                    from: r.from * scale,
                    to: r.to * scale,
                })
                .collect(),
            tolerance,
        )
    };
    grids(scaled(horizontal), scaled(vertical), tolerance)
}

/// Runs of at least `min` dark samples along lines `0..lines` of `length` samples
/// (`index(line, position)` into `dark`), in bands at most `thickness` lines thick.
fn runs(
    dark: &[bool],
    lines: usize,
    length: usize,
    min: usize,
    thickness: usize,
    index: impl Fn(usize, usize) -> usize,
) -> Vec<Rule> {
    let mut found = Vec::new();
    for line in 0..lines {
        let mut start = None;
        for position in 0..=length {
            let on = position < length && dark[index(line, position)];
            match (on, start) {
                (true, None) => start = Some(position),
                (false, Some(s)) => {
                    if position - s >= min {
                        found.push(Rule {
                            at: line as f32,
                            from: s as f32,
                            to: position as f32,
                        });
                    }
                    start = None;
                }
                _ => {}
            }
        }
    }
    // A band of runs thicker than a ruling is a filled area, not a line. `found` is in
    // line order: only the runs of the nearby lines are compared.
    let reach = thickness as f32;
    (0..found.len())
        .filter(|&i| {
            let r = &found[i];
            let first = found.partition_point(|o| o.at < r.at - reach);
            let stacked = found[first..]
                .iter()
                .take_while(|o| o.at <= r.at + reach)
                .filter(|o| overlaps(r, o))
                .count();
            stacked <= 2 * thickness + 1
        })
        .map(|i| found[i])
        .collect()
}

fn overlaps(a: &Rule, b: &Rule) -> bool {
    a.from < b.to && b.from < a.to
}

/// Rulings within `tolerance` of each other across and overlapping along, as one.
fn merge(mut rules: Vec<Rule>, tolerance: f32) -> Vec<Rule> {
    rules.sort_by(|a, b| a.at.total_cmp(&b.at));
    let mut merged: Vec<(Rule, f32)> = Vec::new();
    for rule in rules {
        match merged
            .iter_mut()
            .find(|(m, _)| (rule.at - m.at).abs() <= tolerance && overlaps(m, &rule))
        {
            Some((m, count)) => {
                m.at = (m.at * *count + rule.at) / (*count + 1.0);
                m.from = m.from.min(rule.from);
                m.to = m.to.max(rule.to);
                *count += 1.0;
            }
            None => merged.push((rule, 1.0)),
        }
    }
    merged.into_iter().map(|(m, _)| m).collect()
}

/// Groups of crossing rulings that form a table.
fn grids(horizontal: Vec<Rule>, vertical: Vec<Rule>, tolerance: f32) -> Vec<Grid> {
    let meets = |h: &Rule, v: &Rule| {
        v.at >= h.from - tolerance
            && v.at <= h.to + tolerance
            && h.at >= v.from - tolerance
            && h.at <= v.to + tolerance
    };
    let mut used = vec![false; horizontal.len()];
    let mut found = Vec::new();
    for start in 0..horizontal.len() {
        if used[start] {
            continue;
        }
        // Grow the group: horizontals meeting a vertical that meets one of the group.
        let mut group = vec![start];
        used[start] = true;
        let mut verticals: Vec<Rule> = Vec::new();
        let mut i = 0;
        while i < group.len() {
            let h = horizontal[group[i]];
            for v in vertical.iter().filter(|v| meets(&h, v)) {
                if !verticals.contains(v) {
                    verticals.push(*v);
                    for (j, other) in horizontal.iter().enumerate() {
                        if !used[j] && meets(other, v) {
                            used[j] = true;
                            group.push(j);
                        }
                    }
                }
            }
            i += 1;
        }
        let rows = group.iter().map(|&g| horizontal[g].at).collect();
        let grid = Grid::new(rows, &verticals);
        if grid.is_table() {
            found.push(grid);
        }
    }
    found
}

/// Word positions: (line, word) indices into the page.
type At = (usize, usize);
/// A table's cells, each its (row, column) and its words in reading order.
type Cells = Vec<((usize, usize), Vec<At>)>;

/// The page's lines with each table's words moved into cell order, the table read where
/// Tesseract first met one of its words.
fn reorder(page: RecognizedPage, grids: &[Grid]) -> RecognizedPage {
    let place = |word: &Word| {
        let b = &word.bbox;
        let (x, y) = (
            b.left as f32 + b.width as f32 / 2.0,
            b.top as f32 + b.height as f32 / 2.0,
        );
        grids
            .iter()
            .enumerate()
            .find_map(|(t, grid)| grid.cell_of(x, y).map(|cell| (t, cell)))
    };
    let mut cells: Vec<Cells> = vec![Vec::new(); grids.len()];
    let mut placed = Vec::with_capacity(page.lines.len());
    for (l, line) in page.lines.iter().enumerate() {
        let mut in_line = Vec::with_capacity(line.words.len());
        for (w, word) in line.words.iter().enumerate() {
            let spot = place(word);
            if let Some((t, cell)) = spot {
                match cells[t].iter_mut().find(|(c, _)| *c == cell) {
                    Some((_, words)) => words.push((l, w)),
                    None => cells[t].push((cell, vec![(l, w)])),
                }
            }
            in_line.push(spot.map(|(t, _)| t));
        }
        placed.push(in_line);
    }
    for table in &mut cells {
        table.sort_by_key(|(cell, _)| *cell);
    }
    let mut lines = Vec::new();
    let mut read = vec![false; grids.len()];
    for (l, line) in page.lines.iter().enumerate() {
        let outside: Vec<Word> = line
            .words
            .iter()
            .zip(&placed[l])
            .filter(|(_, t)| t.is_none())
            .map(|(w, _)| w.clone())
            .collect();
        if !outside.is_empty() {
            lines.push(Line {
                words: outside,
                paragraph: line.paragraph,
            });
        }
        for t in placed[l].iter().flatten() {
            if !std::mem::replace(&mut read[*t], true) {
                lines.extend(cell_lines(&page, &cells[*t], *t));
            }
        }
    }
    RecognizedPage { lines }
}

/// The lines of one table, cell by cell: a cell's words from one of Tesseract's lines
/// make one line, and the lines of a cell share a paragraph of their own.
fn cell_lines(
    page: &RecognizedPage,
    cells: &[((usize, usize), Vec<At>)],
    table: usize,
) -> Vec<Line> {
    let mut lines = Vec::new();
    for (n, (_, words)) in cells.iter().enumerate() {
        let paragraph = (u32::MAX - table as u32, n as u32);
        for group in words.chunk_by(|a, b| a.0 == b.0) {
            lines.push(Line {
                words: group
                    .iter()
                    .map(|&(l, w)| page.lines[l].words[w].clone())
                    .collect(),
                paragraph,
            });
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::BBox;

    /// A white 300-dpi A4 page with a grid: horizontal rulings at `rows`, vertical ones
    /// at `columns`, 4 pixels thick.
    fn ruled(rows: &[u32], columns: &[u32]) -> GrayImage {
        ruled_page((2480, 3508), rows, columns)
    }

    fn ruled_page((width, height): (u32, u32), rows: &[u32], columns: &[u32]) -> GrayImage {
        let (x0, x1) = (columns[0], *columns.last().unwrap());
        let (y0, y1) = (rows[0], *rows.last().unwrap());
        GrayImage::from_fn(width, height, |x, y| {
            let on_row = rows.iter().any(|&r| y >= r && y < r + 4) && x >= x0 && x < x1 + 4;
            let on_column = columns.iter().any(|&c| x >= c && x < c + 4) && y >= y0 && y < y1 + 4;
            image::Luma([if on_row || on_column { 0 } else { 255 }])
        })
    }

    fn word(text: &str, left: u32, top: u32) -> Word {
        Word {
            text: text.into(),
            bbox: BBox {
                left,
                top,
                width: 100,
                height: 40,
            },
            confidence: 90.0,
        }
    }

    fn line(words: Vec<Word>) -> Line {
        Line {
            words,
            paragraph: (1, 1),
        }
    }

    #[test]
    fn wrapped_cells_are_read_cell_by_cell() {
        let gray = ruled(&[500, 700, 900], &[200, 1200, 2200]);
        assert_eq!(
            in_cell_order(tesseract_order(), &gray, 300.0).text(),
            "Title\na1\na2\nb1\nb2\nc1\nd1\nAfter"
        );
        let landscape = ruled_page((3508, 2480), &[500, 700, 900], &[200, 1200, 2200, 3300]);
        assert_eq!(
            in_cell_order(tesseract_order(), &landscape, 300.0).text(),
            "Title\na1\na2\nb1\nb2\nc1\nd1\nAfter"
        );
        let read = in_cell_order(tesseract_order(), &gray, 300.0);
        // Each cell's lines share a paragraph (one font size in the text layer).
        assert_eq!(read.lines[1].paragraph, read.lines[2].paragraph);
        assert_ne!(read.lines[2].paragraph, read.lines[3].paragraph);
    }

    /// A two-by-two table with wrapped cells as Tesseract reads it: across the cells,
    /// line by line.
    fn tesseract_order() -> RecognizedPage {
        RecognizedPage {
            lines: vec![
                line(vec![word("Title", 1000, 300)]),
                line(vec![word("a1", 300, 530), word("b1", 1300, 530)]),
                line(vec![word("a2", 300, 600), word("b2", 1300, 600)]),
                line(vec![word("c1", 300, 730), word("d1", 1300, 730)]),
                line(vec![word("After", 1000, 1100)]),
            ],
        }
    }

    #[test]
    fn a_frame_or_an_underline_is_not_a_table() {
        let page = || RecognizedPage {
            lines: vec![
                line(vec![word("left", 300, 530), word("right", 1300, 530)]),
                line(vec![word("left2", 300, 600), word("right2", 1300, 600)]),
            ],
        };
        let expected = page().text();
        // One box around the text.
        let frame = ruled(&[400, 900], &[200, 2200]);
        assert_eq!(in_cell_order(page(), &frame, 300.0).text(), expected);
        // Two boxes side by side: one row, not a grid of cells.
        let two_boxes = ruled(&[400, 900], &[200, 1200, 2200]);
        assert_eq!(in_cell_order(page(), &two_boxes, 300.0).text(), expected);
        let blank = GrayImage::from_pixel(2480, 3508, image::Luma([255]));
        assert_eq!(in_cell_order(page(), &blank, 300.0).text(), expected);
    }
}
