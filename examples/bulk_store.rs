//! Fills a store with synthetic documents for the lookup benchmark
//! (`benches/http-lookup.sh`, issue 5 "Benchmark").
//!
//! ```sh
//! cargo run --release --example bulk_store -- STORE_DIR N [--batch 10000] [--threads 16]
//!     [--index postgres://…] [--blobs file:DIR|s3://…]
//! ```
//!
//! Creates the agency `BENCH-UBND` and N documents through [`Store::add_documents`], in
//! transactions of `--batch` documents, several batches at a time (`--threads`): every blob
//! is fsynced by the store, and on a virtual disk an fsync costs about a millisecond, so the
//! blob writes of several batches overlap while their metadata transactions take turns.
//!
//! Each document has a distinct small fake-PDF blob (a few hundred bytes with its index in
//! it: metadata + small blobs, not real PDFs) and a short OCR-like Vietnamese text (indexed
//! for search and stored as a `text` blob). Citizens (12-digit personal IDs) have 1 to 3
//! documents each (2 on average), in one or two dossiers of a handful of procedures.
//!
//! Writes samples for load tests to `STORE_DIR/bench-sample/`: `citizen_ids.txt`,
//! `dossier_codes.txt`, `document_ids.txt`, `reuse_paths.txt` (about 20,000 lines each, in
//! random order over the whole store), and `generation.txt` (the figures printed at the end).
//!
//! Then makes the store look like a province's year for the reuse and indicator benchmarks
//! (`benches/reuse.sh`): a catalogue of the procedures, every dossier received on a day of
//! 2026 (70 % returned up to 30 days later), and 10,000 documents reused in a second dossier.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use sohoa::store::{FileRole, Ingest, NewDocument, NewFile, Role, Store};

const AGENCY: &str = "BENCH-UBND";
const AGENCY_NAME: &str = "UBND xã Thử Nghiệm (dữ liệu benchmark)";
/// Lines in each sample file, at most.
const SAMPLE: usize = 20_000;

/// A document kind and its title.
type KindTitle = (&'static str, &'static str);

/// A procedure: code, name, its component documents (kind, title) and its result.
struct Procedure {
    code: &'static str,
    name: &'static str,
    components: &'static [KindTitle],
    result: KindTitle,
    /// Months the result stays valid, when it expires.
    valid_months: Option<u32>,
}

const PROCEDURES: &[Procedure] = &[
    Procedure {
        code: "1.001193",
        name: "Đăng ký khai sinh",
        components: &[
            ("to-khai-dang-ky-khai-sinh", "Tờ khai đăng ký khai sinh"),
            ("giay-chung-sinh", "Giấy chứng sinh"),
        ],
        result: ("giay-khai-sinh", "Giấy khai sinh"),
        valid_months: None,
    },
    Procedure {
        code: "1.000894",
        name: "Đăng ký kết hôn",
        components: &[
            ("to-khai-dang-ky-ket-hon", "Tờ khai đăng ký kết hôn"),
            (
                "giay-xac-nhan-tinh-trang-hon-nhan",
                "Giấy xác nhận tình trạng hôn nhân",
            ),
        ],
        result: ("giay-chung-nhan-ket-hon", "Giấy chứng nhận kết hôn"),
        valid_months: None,
    },
    Procedure {
        code: "1.004873",
        name: "Cấp giấy xác nhận tình trạng hôn nhân",
        components: &[(
            "to-khai-xac-nhan-tinh-trang-hon-nhan",
            "Tờ khai cấp giấy xác nhận tình trạng hôn nhân",
        )],
        result: (
            "giay-xac-nhan-tinh-trang-hon-nhan",
            "Giấy xác nhận tình trạng hôn nhân",
        ),
        valid_months: Some(6),
    },
    Procedure {
        code: "2.000815",
        name: "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        components: &[("ban-chinh", "Bản chính giấy tờ cần chứng thực")],
        result: ("ban-sao-chung-thuc", "Bản sao chứng thực từ bản chính"),
        valid_months: None,
    },
    Procedure {
        code: "1.003583",
        name: "Đăng ký khai tử",
        components: &[
            ("to-khai-dang-ky-khai-tu", "Tờ khai đăng ký khai tử"),
            ("giay-bao-tu", "Giấy báo tử"),
        ],
        result: ("trich-luc-khai-tu", "Trích lục khai tử"),
        valid_months: None,
    },
    Procedure {
        code: "1.001022",
        name: "Cấp bản sao trích lục hộ tịch",
        components: &[(
            "to-khai-cap-ban-sao-trich-luc",
            "Tờ khai cấp bản sao trích lục hộ tịch",
        )],
        result: ("ban-sao-trich-luc-ho-tich", "Bản sao trích lục hộ tịch"),
        valid_months: None,
    },
];

const SURNAMES: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý",
];
const MIDDLE: &[&str] = &[
    "Văn", "Thị", "Hữu", "Đức", "Minh", "Thu", "Ngọc", "Quang", "Thanh", "Gia",
];
const GIVEN: &[&str] = &[
    "An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Huyền",
    "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Phương", "Quân", "Sơn", "Tâm",
    "Thảo", "Trang", "Trung", "Tuấn", "Vân", "Yến", "Đông", "Đạt",
];
const PLACES: &[&str] = &[
    "xã Tân Nguyên, huyện Yên Bình, tỉnh Yên Bái",
    "phường Đống Đa, thành phố Quy Nhơn, tỉnh Bình Định",
    "xã Đại Đồng, huyện Thạch Thất, thành phố Hà Nội",
    "phường Bến Thành, Quận 1, Thành phố Hồ Chí Minh",
    "xã Cẩm Hà, thành phố Hội An, tỉnh Quảng Nam",
    "thị trấn Đức Phổ, huyện Đức Phổ, tỉnh Quảng Ngãi",
];
/// Province codes that start a personal ID (the first 3 of the 12 digits).
const PROVINCES: &[u32] = &[1, 15, 22, 26, 31, 38, 40, 46, 48, 52, 56, 75, 79, 92, 96];

/// SplitMix64: a small, good hash and generator (no dependency for the benchmark).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn pick<T: Copy>(list: &[T], h: u64) -> T {
    list[(h % list.len() as u64) as usize]
}

/// Documents of citizen `c`: 1, 2 or 3 (30 %, 40 %, 30 %; 2 on average).
fn docs_of(c: u64) -> usize {
    match mix(c ^ 0xd0c5) % 10 {
        0..=2 => 1,
        3..=6 => 2,
        _ => 3,
    }
}

/// The 12-digit personal ID of citizen `c` (distinct for every c < 10^9): province code,
/// then 9 digits from a bijection of c (7,919 is prime to 10^9).
fn citizen_id(c: u64) -> String {
    let province = pick(PROVINCES, mix(c ^ 0x9ef));
    let rest = (c * 7_919 + 123_456_789) % 1_000_000_000;
    format!("{province:03}{rest:09}")
}

/// The dossier code of the `d`-th dossier (0 or 1) of citizen `c`, e.g.
/// `H35.12-240315-0012345-1`.
fn dossier_code(c: u64, d: usize) -> String {
    let day = mix(c ^ 0xda7e) % 700;
    let (y, m, dd) = (23 + day / 336, 1 + (day % 336) / 28, 1 + day % 28);
    format!("H35.12-{y:02}{m:02}{dd:02}-{c:07}-{d}")
}

/// Date `months` after 2026-01-15, as YYYY-MM-DD.
fn valid_until(months: u32) -> String {
    let total = 2026 * 12 + months;
    format!("{}-{:02}-15", total / 12, total % 12 + 1)
}

/// A tiny PDF-like payload (not a valid PDF: the store does not parse what it is given
/// through the library call), distinct for every document.
fn fake_pdf(index: u64, citizen: &str, kind: &str) -> Vec<u8> {
    format!(
        "%PDF-1.7\n%\u{e2}\u{e3}\u{cf}\u{d3}\n\
         1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
         2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n\
         3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n\
         % sohoa benchmark document {index} citizen {citizen} kind {kind}\n\
         trailer\n<< /Root 1 0 R /Size 4 >>\n%%EOF\n"
    )
    .into_bytes()
}

/// Appends the first `count` (≤ 3) documents of citizen `c` to `out` and their indexes to
/// `indexes`; `first_doc` is the index of the first one.
fn citizen_docs(
    c: u64,
    count: usize,
    first_doc: u64,
    out: &mut Vec<Ingest>,
    indexes: &mut Vec<u64>,
) {
    let cid = citizen_id(c);
    let h = mix(c);
    let name = format!(
        "{} {} {}",
        pick(SURNAMES, h),
        pick(MIDDLE, h >> 8),
        pick(GIVEN, h >> 16)
    );
    let place = pick(PLACES, h >> 24);
    let birth = format!(
        "{:02}/{:02}/{}",
        1 + (h >> 32) % 28,
        1 + (h >> 40) % 12,
        1950 + (h >> 44) % 60
    );
    // The first dossier has min(count, 2) documents (components then the result); a third
    // document is the result of a second dossier of another procedure.
    let n = PROCEDURES.len() as u64;
    let p1 = (h >> 48) % n;
    let p2 = (p1 + 1 + (h >> 52) % (n - 1)) % n; // another procedure
    let (first, second) = (&PROCEDURES[p1 as usize], &PROCEDURES[p2 as usize]);
    // (dossier 0 or 1, procedure, Some(component kind and title) or None for the result)
    let mut plan: Vec<(usize, &Procedure, Option<KindTitle>)> = Vec::new();
    match count {
        1 => plan.push((0, first, None)),
        _ => {
            plan.push((0, first, Some(pick(first.components, h >> 56))));
            plan.push((0, first, None));
            if count == 3 {
                plan.push((1, second, None));
            }
        }
    }
    for (k, (dossier, procedure, component)) in plan.into_iter().enumerate() {
        let (role, (kind, title), months) = match component {
            Some(c) => (Role::Component, c, None),
            None => (Role::Result, procedure.result, procedure.valid_months),
        };
        let index = first_doc + k as u64;
        let code = dossier_code(c, dossier);
        let text = format!(
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc {} \
             Thủ tục: {}. Họ và tên: {name}. Ngày sinh: {birth}. \
             Số định danh cá nhân: {cid}. Nơi cư trú: {place}. Số hồ sơ: {code}. \
             Bản số {index}.",
            title.to_uppercase(),
            procedure.name,
        );
        let ingest = Ingest {
            new: NewDocument {
                dossier_code: code,
                procedure_code: procedure.code.into(),
                citizen_id: cid.parse().expect("a 12-digit personal ID"),
                agency: AGENCY.into(),
                kind: kind.into(),
                title: format!("{title} – {name}").parse().expect("a title"),
                role,
                created_by: "bench-import".into(),
                valid_until: months.map(valid_until).map(|d| d.parse().expect("a date")),
                supersedes: None,
            },
            files: vec![NewFile {
                role: FileRole::Pdf,
                name: format!("{kind}-{index}.pdf"),
                bytes: fake_pdf(index, &cid, kind),
            }],
            text,
            reference: None,
            page_count: 1 + (mix(index) % 3) as u32,
        };
        out.push(ingest);
        indexes.push(index);
    }
}

struct Options {
    dir: PathBuf,
    backends: sohoa::store::Backends,
    docs: u64,
    batch: usize,
    threads: usize,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut positional = Vec::new();
    let (mut batch, mut threads) = (10_000usize, 16usize);
    let mut backends = sohoa::store::Backends::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--index" => {
                backends.index = args.next();
                continue;
            }
            "--blobs" => {
                backends.blobs = args.next();
                continue;
            }
            _ => {}
        }
        let mut number = |name: &str| -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} needs a positive number"))
        };
        match a.as_str() {
            "--batch" => batch = number("--batch")?,
            "--threads" => threads = number("--threads")?,
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ => positional.push(a),
        }
    }
    let [dir, docs] = <[String; 2]>::try_from(positional).map_err(|_| {
        "usage: bulk_store STORE_DIR N [--batch 10000] [--threads 16] [--index URL] [--blobs URL]"
            .to_string()
    })?;
    let docs = docs
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or("N must be a positive number")?;
    Ok(Options {
        dir: dir.into(),
        backends,
        docs,
        batch,
        threads,
    })
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bulk_store: error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let opts = options()?;
    let started = Instant::now();
    let store = Store::open_with(&opts.dir, &opts.backends).map_err(|e| e.to_string())?;
    if store
        .agencies()
        .map_err(|e| e.to_string())?
        .iter()
        .any(|a| a.code == AGENCY)
    {
        return Err(format!(
            "{} already holds a benchmark import: delete it first",
            opts.dir.display()
        ));
    }
    store
        .add_agency(AGENCY, AGENCY_NAME)
        .map_err(|e| e.to_string())?;

    // Citizens and where their documents start, until N documents; then batches of whole
    // citizens (a dossier never spans two batches, so concurrent batches never share one).
    let mut starts: Vec<u64> = Vec::new();
    let mut next_start = 0u64;
    while next_start < opts.docs {
        starts.push(next_start);
        next_start += docs_of(starts.len() as u64 - 1) as u64;
    }
    let total = opts.docs; // the last citizen may get fewer documents

    let citizens = starts.len() as u64;
    let mut batches: Vec<(u64, u64)> = Vec::new();
    let mut from = 0u64;
    while from < citizens {
        let mut to = from;
        while to < citizens && starts[to as usize] - starts[from as usize] < opts.batch as u64 {
            to += 1;
        }
        batches.push((from, to));
        from = to;
    }
    println!(
        "{}: {total} documents of {citizens} citizens in {} batches of about {} \
         ({} at a time)",
        opts.dir.display(),
        batches.len(),
        opts.batch,
        opts.threads
    );

    // Sampled document ids: about SAMPLE of them, spread evenly over the indexes.
    let doc_stride = (total / SAMPLE as u64).max(1);
    let next = Arc::new(AtomicUsize::new(0));
    let batches = Arc::new(batches);
    let starts = Arc::new(starts);
    let (report, results) = mpsc::channel::<Result<(usize, Vec<String>), String>>();
    let mut workers = Vec::new();
    for _ in 0..opts.threads.min(batches.len()) {
        let (store, next, batches, starts, report) = (
            store.clone(),
            next.clone(),
            batches.clone(),
            starts.clone(),
            report.clone(),
        );
        workers.push(std::thread::spawn(move || loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(from, to)) = batches.get(b) else {
                break;
            };
            let mut docs = Vec::with_capacity(opts.batch + 3);
            let mut indexes = Vec::with_capacity(opts.batch + 3);
            for c in from..to {
                let first = starts[c as usize];
                let count = (docs_of(c) as u64).min(total - first) as usize;
                citizen_docs(c, count, first, &mut docs, &mut indexes);
            }
            let result = store.add_documents(&docs).map(|ids| {
                let sampled = indexes
                    .iter()
                    .zip(ids)
                    .filter(|(index, _)| *index % doc_stride == 0)
                    .map(|(_, id)| id)
                    .collect();
                (docs.len(), sampled)
            });
            if result.is_err() {
                next.store(batches.len(), Ordering::Relaxed); // the others stop too
            }
            let failed = result.is_err();
            if report
                .send(result.map_err(|e| format!("batch {b}: {e}")))
                .is_err()
                || failed
            {
                break;
            }
        }));
    }
    drop(report);

    let mut done = 0u64;
    let mut doc_ids = Vec::new();
    let mut last_print = Instant::now();
    let mut error = None;
    for result in results {
        match result {
            Ok((n, ids)) => {
                done += n as u64;
                doc_ids.extend(ids);
                if last_print.elapsed().as_secs() >= 10 || done == total {
                    last_print = Instant::now();
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "{done:>9} / {total} documents  {secs:>7.1} s  {:>6.0} docs/s",
                        done as f64 / secs
                    );
                }
            }
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    for w in workers {
        let _ = w.join();
    }
    if let Some(e) = error {
        return Err(e);
    }
    let secs = started.elapsed().as_secs_f64();
    let province = Instant::now();
    let attached = province_data(&store, &starts, total)?;
    println!(
        "catalogue, dossier dates and {attached} reuse links in {:.1} s",
        province.elapsed().as_secs_f64()
    );
    drop(store); // checkpoints the WAL

    // Samples, shuffled so that a load test walks the whole store in random order.
    let citizen_stride = (citizens / SAMPLE as u64).max(1);
    let mut cids: Vec<String> = (0..citizens)
        .step_by(citizen_stride as usize)
        .map(citizen_id)
        .collect();
    let mut dossiers: Vec<String> = (0..citizens)
        .step_by(citizen_stride as usize)
        .map(|c| dossier_code(c, 0))
        .collect();
    shuffle(&mut cids, 1);
    shuffle(&mut dossiers, 2);
    shuffle(&mut doc_ids, 3);
    let sample = opts.dir.join("bench-sample");
    std::fs::create_dir_all(&sample).map_err(|e| e.to_string())?;
    write_lines(&sample.join("citizen_ids.txt"), &cids)?;
    write_lines(&sample.join("dossier_codes.txt"), &dossiers)?;
    write_lines(&sample.join("document_ids.txt"), &doc_ids)?;
    write_lines(&sample.join("reuse_paths.txt"), &reuse_paths(&cids))?;
    let summary = format!(
        "documents={total}\ncitizens={citizens}\nbatch={}\nthreads={}\nseconds={secs:.1}\n\
         docs_per_second={:.0}\n",
        opts.batch,
        opts.threads,
        total as f64 / secs
    );
    std::fs::write(sample.join("generation.txt"), &summary).map_err(|e| e.to_string())?;
    println!(
        "stored {total} documents ({citizens} citizens) in {secs:.1} s: {:.0} docs/s",
        total as f64 / secs
    );
    println!(
        "samples: {} ({} citizen IDs, {} dossier codes, {} document ids)",
        sample.display(),
        cids.len(),
        dossiers.len(),
        doc_ids.len()
    );
    Ok(())
}

/// The catalogue of [`PROCEDURES`] (components required; a result valid for some months
/// stays usable as a component for as many 30-day periods).
fn catalogue() -> Vec<sohoa::store::Procedure> {
    use sohoa::store::{Procedure as Entry, Requirement};
    let requirement = |(kind, name): KindTitle, valid_days: Option<u32>| Requirement {
        kind: kind.into(),
        name: name.into(),
        required: true,
        valid_days,
    };
    let valid_days = |kind: &str| {
        PROCEDURES
            .iter()
            .find(|p| p.result.0 == kind)
            .and_then(|p| p.valid_months)
            .map(|m| m * 30)
    };
    PROCEDURES
        .iter()
        .map(|p| Entry {
            code: p.code.into(),
            name: p.name.into(),
            agency_level: "xa".into(),
            components: p
                .components
                .iter()
                .map(|c| requirement(*c, valid_days(c.0)))
                .collect(),
            results: vec![requirement(p.result, p.valid_months.map(|m| m * 30))],
        })
        .collect()
}

/// Imports the catalogue, gives every dossier a day received in 2026 (and 70 % a day
/// returned up to 30 days later), and attaches, for the first 10,000 citizens with a
/// second dossier, their first document to it (a reuse). Returns the links made.
fn province_data(store: &Store, starts: &[u64], total: u64) -> Result<usize, String> {
    store
        .import_catalog(&catalogue())
        .map_err(|e| e.to_string())?;
    let mut dates = Vec::new();
    let mut second = Vec::new();
    for (c, &first) in starts.iter().enumerate() {
        let c = c as u64;
        let count = (docs_of(c) as u64).min(total - first);
        for d in 0..if count == 3 { 2 } else { 1 } {
            let h = mix(c ^ (0x5eed + d as u64));
            let received = day_of_2026(h % 365);
            let returned = (h >> 20) % 10 < 7;
            let returned = returned.then(|| day_of_2026(h % 365 + (h >> 32) % 31));
            dates.push((dossier_code(c, d), Some(received), returned));
        }
        if count == 3 && second.len() < 10_000 {
            second.push(c);
        }
        if dates.len() >= 20_000 {
            store
                .set_dossier_dates_many(&dates)
                .map_err(|e| e.to_string())?;
            dates.clear();
        }
    }
    store
        .set_dossier_dates_many(&dates)
        .map_err(|e| e.to_string())?;
    for &c in &second {
        let err = |e: sohoa::store::StoreError| e.to_string();
        let docs = store
            .documents_by_citizen(&citizen_id(c), None)
            .map_err(err)?;
        let dossier = store
            .dossier(&dossier_code(c, 1))
            .map_err(err)?
            .ok_or("no dossier")?;
        store
            .attach(&docs[0].id, &dossier, "bench-import")
            .map_err(err)?;
    }
    Ok(second.len())
}

/// Day `n` (0-based, may pass the year's end) after 2026-01-01, YYYY-MM-DD.
fn day_of_2026(n: u64) -> String {
    let start = sohoa::calendar::parse_day("2026-01-01").expect("a valid day");
    sohoa::calendar::add_days(start, n as i64).to_string()
}

/// Paths of reuse lookups: each sampled citizen with one of the procedures.
fn reuse_paths(cids: &[String]) -> Vec<String> {
    cids.iter()
        .enumerate()
        .map(|(i, cid)| {
            let procedure = PROCEDURES[i % PROCEDURES.len()].code;
            format!("/api/v1/reuse?citizen_id={cid}&procedure={procedure}")
        })
        .collect()
}

fn shuffle<T>(items: &mut [T], seed: u64) {
    for i in (1..items.len()).rev() {
        let j = (mix(seed.wrapping_mul(0x1000_0000) ^ i as u64) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

fn write_lines(path: &Path, lines: &[String]) -> Result<(), String> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    for line in lines {
        writeln!(out, "{line}").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    out.flush().map_err(|e| format!("{}: {e}", path.display()))
}
