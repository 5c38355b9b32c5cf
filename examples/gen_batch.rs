//! Generates a folder of scanned documents for `sohoa batch` (tests and
//! `benches/batch-compare.sh`).
//!
//! ```sh
//! cargo run --release --example gen_batch -- OUT_DIR DOCUMENTS [--pages 2] [--lines 12] \
//!     [--mix clean,skewed] [--seed 1]
//! ```
//!
//! Writes `OUT_DIR/H35.12-240101-NNNN_0012345600NN/pageK.png` (A4, 300 dpi, 8-bit gray),
//! named by the folder convention of `sohoa batch` (dossier code `_` personal ID), and the
//! ground truth beside each page (`pageK.txt`, ignored by the batch). Pages cycle through
//! the kinds of `--mix`: `clean` (as rendered), `phone` (a 12 MP photo of the page on a
//! desk, JPEG, from `sohoa_fixtures::phone_photo`), `sealed-phone` (the same of the page
//! with a red seal and a blue signature, `sohoa_fixtures::with_seal`) and `skewed` (rotated
//! by 2 to 6 degrees, either way).
use std::path::PathBuf;

fn main() {
    if let Err(e) = run() {
        eprintln!("gen_batch: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: gen_batch OUT_DIR DOCUMENTS [...]")?,
    );
    let documents: u64 = parse(args.next(), "DOCUMENTS")?;
    let (mut pages, mut lines, mut seed) = (2u64, 12usize, 1u64);
    let mut mix = vec!["clean".to_string(), "skewed".to_string()];
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--pages" => pages = parse(args.next(), "--pages")?,
            "--lines" => lines = parse(args.next(), "--lines")?,
            "--seed" => seed = parse(args.next(), "--seed")?,
            "--mix" => {
                let list = args.next().ok_or("--mix needs a list")?;
                mix = list.split(',').map(String::from).collect();
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let mut n = 0u64;
    for d in 0..documents {
        let dir = out.join(format!(
            "H35.12-240101-{:04}_{:012}",
            d + 1,
            1_234_560_000 + d
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for p in 0..pages {
            let page_seed = seed * 1_000_003 + n;
            let kind = &mix[(n % mix.len() as u64) as usize];
            let page = sohoa_fixtures::render_page(page_seed, lines)?;
            let (name, bytes) = match kind.as_str() {
                "clean" => (format!("page{}.png", p + 1), png(&page.image)?),
                "skewed" => {
                    let degrees = 2.0 + (page_seed % 5) as f32;
                    let sign = if page_seed % 2 == 0 { 1.0 } else { -1.0 };
                    let skewed = sohoa_fixtures::rotate(&page.image, sign * degrees);
                    (format!("page{}.png", p + 1), png(&skewed)?)
                }
                "phone" | "sealed-phone" => {
                    let style = sohoa_fixtures::PhotoStyle::for_seed(page_seed);
                    let rgb = if kind == "phone" {
                        image::DynamicImage::ImageLuma8(page.image).into_rgb8()
                    } else {
                        sohoa_fixtures::with_seal(&page.image, page_seed)
                    };
                    let photo = sohoa_fixtures::phone_photo(&rgb, &style, page_seed);
                    (format!("page{}.jpg", p + 1), photo.jpeg)
                }
                other => return Err(format!("unknown page kind {other}")),
            };
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            std::fs::write(path.with_extension("txt"), &page.text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            n += 1;
        }
    }
    println!("{n} pages in {documents} documents in {}", out.display());
    Ok(())
}

fn png(image: &image::GrayImage) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| format!("PNG: {e}"))?;
    Ok(bytes)
}

fn parse<T: std::str::FromStr>(value: Option<String>, what: &str) -> Result<T, String> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{what} needs a number"))
}
