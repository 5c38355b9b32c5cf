//! Reuse that happens: the procedure catalogue, the reuse finder and attach (CLI and
//! real HTTP), and the indicators on a generated store of a few thousand dossiers whose
//! answers the test counts on its own.

use crate::common;
use crate::common::server::Server;
use crate::common::{run, sohoa};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use sohoa::calendar::{add_days, local_today, parse_day};
use sohoa::store::{
    Dossier, FileRole, GroupBy, IndicatorQuery, Ingest, NewDocument, NewFile, Role, Store,
};

const CATALOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/catalog/sample-procedures.json"
);
const AGENCY: &str = "UBND-XA-TN";
const OTHER_AGENCY: &str = "UBND-XA-KHAC";
const PERSON: &str = "001090000001";
const OTHER_PERSON: &str = "001090000002";

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn cli(store: &Path, args: &[&str]) -> Output {
    run(sohoa().args(args).args(common::store_args(store)))
}

/// A document to store: metadata, a distinct fake main file (the store does not read it).
fn doc(n: u64, dossier: &str, procedure: &str, citizen: &str, kind: &str, role: Role) -> Ingest {
    Ingest {
        new: NewDocument {
            dossier_code: dossier.into(),
            procedure_code: procedure.into(),
            citizen_id: citizen.parse().unwrap(),
            agency: AGENCY.into(),
            kind: kind.into(),
            title: format!("{kind} số {n}").parse().unwrap(),
            role,
            created_by: "test".into(),
            valid_until: None,
            supersedes: None,
        },
        files: vec![NewFile {
            role: FileRole::Pdf,
            name: format!("{n}.pdf"),
            bytes: format!("%PDF-1.7 test document {n} {dossier} {kind}").into_bytes(),
        }],
        text: String::new(),
        reference: None,
        page_count: 1,
    }
}

/// `sohoa reuse find --citizen-id PERSON --procedure mau.ket-hon [--at AT] --json`.
fn find_marriage(dir: &Path, at: Option<&str>) -> Value {
    let mut args = vec![
        "reuse",
        "find",
        "--citizen-id",
        PERSON,
        "--procedure",
        "mau.ket-hon",
        "--json",
    ];
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    serde_json::from_str(&ok(&cli(dir, &args))).unwrap()
}

fn store_one(store: &Store, ingest: Ingest) -> String {
    store.add_documents(&[ingest]).unwrap().remove(0)
}

fn day_after(days: i64) -> String {
    add_days(parse_day(&local_today()).unwrap(), days).to_string()
}

// ------------------------------------------------------------ the reuse finder

/// The documents of the finder test: (id, what it is for).
struct Case {
    certified_id_card: String,
    plain_id_card: String,
    expired_id_card: String,
    status_paper: String,
    superseded_form: String,
    correction: String,
    other_persons_card: String,
}

/// Citizen PERSON has, in three earlier dossiers: two current ID cards (one a certified
/// copy), one past its validity, a marriage-status paper (valid 180 days for marriage),
/// and a marriage form corrected by a newer one; OTHER_PERSON has an ID card too.
fn reuse_case(store: &Store) -> Case {
    let mut n = 0;
    let mut next = |dossier: &str, procedure: &str, citizen: &str, kind: &str, role: Role| {
        n += 1;
        doc(n, dossier, procedure, citizen, kind, role)
    };
    let mut plain = next(
        "OLD-1",
        "mau.xac-nhan-hon-nhan",
        PERSON,
        "can-cuoc",
        Role::Component,
    );
    plain.new.valid_until = Some("2040-01-01".parse().unwrap());
    let plain_id_card = store_one(store, plain);
    let mut certified = next(
        "OLD-2",
        "mau.chung-thuc-ban-sao",
        PERSON,
        "can-cuoc",
        Role::Component,
    );
    certified.new.valid_until = Some("2040-01-01".parse().unwrap());
    certified.reference = Some("TEST-REF-OLD-2".into());
    let certified_id_card = store_one(store, certified);
    let mut expired = next(
        "OLD-2",
        "mau.chung-thuc-ban-sao",
        PERSON,
        "can-cuoc",
        Role::Component,
    );
    expired.new.valid_until = Some("2020-01-01".parse().unwrap());
    let expired_id_card = store_one(store, expired);
    let status = next(
        "OLD-1",
        "mau.xac-nhan-hon-nhan",
        PERSON,
        "giay-xac-nhan-tinh-trang-hon-nhan",
        Role::Result,
    );
    let status_paper = store_one(store, status);
    let form = next(
        "OLD-3",
        "mau.ket-hon",
        PERSON,
        "to-khai-ket-hon",
        Role::Component,
    );
    let superseded_form = store_one(store, form);
    let mut fixed = next(
        "OLD-3",
        "mau.ket-hon",
        PERSON,
        "to-khai-ket-hon",
        Role::Component,
    );
    fixed.new.supersedes = Some(superseded_form.parse().unwrap());
    let correction = store_one(store, fixed);
    let other = next(
        "B-1",
        "mau.ket-hon",
        OTHER_PERSON,
        "can-cuoc",
        Role::Component,
    );
    let other_persons_card = store_one(store, other);
    Case {
        certified_id_card,
        plain_id_card,
        expired_id_card,
        status_paper,
        superseded_form,
        correction,
        other_persons_card,
    }
}

/// kind → (status, candidate ids, expired ids) of a finder answer.
fn summary(found: &Value) -> BTreeMap<String, (String, Vec<String>, Vec<String>)> {
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect()
    };
    found["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_string(),
                (
                    c["status"].as_str().unwrap().to_string(),
                    ids(&c["candidates"]),
                    ids(&c["expired"]),
                ),
            )
        })
        .collect()
}

fn entry(
    status: &str,
    candidates: &[&String],
    expired: &[&String],
) -> (String, Vec<String>, Vec<String>) {
    let owned = |l: &[&String]| l.iter().map(|s| s.to_string()).collect();
    (status.into(), owned(candidates), owned(expired))
}

fn get(server: &Server, key: &str, path: &str, purpose: bool) -> (u16, Value) {
    let mut request = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
        .get(&server.url(path))
        .set("Authorization", &format!("Bearer {key}"));
    if purpose {
        request = request.set("X-Purpose", "tiep-nhan-ho-so");
    }
    answer(request.call())
}

fn post_json(server: &Server, key: &str, path: &str, body: Value) -> (u16, Value) {
    let request = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
        .post(&server.url(path))
        .set("Authorization", &format!("Bearer {key}"));
    answer(request.send_json(body))
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn key(store: &Path, scopes: &[&str]) -> String {
    let mut args = vec!["key", "create", "--agency", AGENCY];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    let json: Value = serde_json::from_str(&ok(&cli(store, &args))).unwrap();
    json["key"].as_str().unwrap().to_string()
}

#[test]
fn reuse_find_offers_exactly_the_usable_documents_over_cli_and_http() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    ok(&cli(
        &dir,
        &[
            "agency",
            "add",
            "--code",
            AGENCY,
            "--name",
            "UBND xã Tân Nhựt",
        ],
    ));
    ok(&cli(
        &dir,
        &[
            "agency",
            "add",
            "--code",
            OTHER_AGENCY,
            "--name",
            "UBND xã khác",
        ],
    ));
    let imported = ok(&cli(&dir, &["catalog", "import", CATALOG]));
    assert!(imported.contains("imported 14 procedures"), "{imported}");
    let store = common::open_store(&dir);
    let case = reuse_case(&store);
    let c = &case;

    // Today: the certified ID card first, the expired one shown apart, the correction
    // and not the form it corrects, nothing of the other person.
    let today = summary(&find_marriage(&dir, None));
    let expected_today = BTreeMap::from([
        (
            "to-khai-ket-hon".to_string(),
            entry("available", &[&c.correction], &[]),
        ),
        (
            "can-cuoc".to_string(),
            entry(
                "available",
                &[&c.certified_id_card, &c.plain_id_card],
                &[&c.expired_id_card],
            ),
        ),
        (
            "giay-xac-nhan-tinh-trang-hon-nhan".to_string(),
            entry("available", &[&c.status_paper], &[]),
        ),
    ]);
    assert_eq!(today, expected_today);
    let all_ids = format!("{today:?}");
    assert!(!all_ids.contains(&c.superseded_form) && !all_ids.contains(&c.other_persons_card));

    // 200 days on, the marriage-status paper is past the catalogue's 180 days.
    let later = day_after(200);
    let found: Value = find_marriage(&dir, Some(&later));
    let later_summary = summary(&found);
    assert_eq!(
        later_summary["giay-xac-nhan-tinh-trang-hon-nhan"],
        entry("expired", &[], &[&c.status_paper])
    );
    let paper = &found["components"][2]["expired"][0];
    assert_eq!(paper["valid_until"], Value::String(day_after(180)));
    // Yesterday nothing was on file yet: documents stored after the day are not offered.
    let yesterday = summary(&find_marriage(&dir, Some(&day_after(-1))));
    assert!(yesterday
        .values()
        .all(|(s, c, e)| s == "missing" && c.is_empty() && e.is_empty()));
    // The text answer names each status.
    let text = ok(&cli(
        &dir,
        &[
            "reuse",
            "find",
            "--citizen-id",
            PERSON,
            "--procedure",
            "mau.ket-hon",
        ],
    ));
    assert!(
        text.contains("[available] Căn cước") && text.contains("certified copy"),
        "{text}"
    );
    // Bad requests: a clear message and a non-zero exit.
    for (args, message) in [
        (
            vec!["--citizen-id", "12345", "--procedure", "mau.ket-hon"],
            "personal ID",
        ),
        (
            vec!["--citizen-id", PERSON, "--procedure", "khong-co"],
            "not found: procedure khong-co",
        ),
        (
            vec![
                "--citizen-id",
                PERSON,
                "--procedure",
                "mau.ket-hon",
                "--at",
                "2026-02-30",
            ],
            "invalid at date",
        ),
    ] {
        let out = cli(&dir, &[&["reuse", "find"][..], &args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(message),
            "{args:?}: {stderr}"
        );
    }

    let read_all = key(&dir, &["read:*"]);
    let id_cards_only = key(&dir, &["read:can-cuoc"]);
    let procedure_only = key(&dir, &["read:procedure:mau.xac-nhan-hon-nhan"]);
    let writer = key(&dir, &["read:*", "write"]);
    let write_only = key(&dir, &["write"]);
    let server = Server::spawn({
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sohoa"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--key-cache-ms", "0"])
            .args(common::store_args(&dir));
        cmd
    });
    let path = format!("/api/v1/reuse?citizen_id={PERSON}&procedure=mau.ket-hon");

    // Over HTTP with read:* the answer is the CLI's.
    let (status, found) = get(&server, &read_all, &path, true);
    assert_eq!(status, 200, "{found}");
    assert_eq!(summary(&found), expected_today);
    // Scopes: a key that reads ID cards sees only them; a procedure-scoped key sees the
    // documents of that procedure only.
    let (_, found) = get(&server, &id_cards_only, &path, true);
    let scoped = summary(&found);
    assert_eq!(scoped["can-cuoc"], expected_today["can-cuoc"]);
    assert_eq!(scoped["to-khai-ket-hon"], entry("missing", &[], &[]));
    assert_eq!(
        scoped["giay-xac-nhan-tinh-trang-hon-nhan"],
        entry("missing", &[], &[])
    );
    let (_, found) = get(&server, &procedure_only, &path, true);
    let scoped = summary(&found);
    assert_eq!(
        scoped["can-cuoc"],
        entry("available", &[&c.plain_id_card], &[])
    );
    assert_eq!(
        scoped["giay-xac-nhan-tinh-trang-hon-nhan"],
        expected_today["giay-xac-nhan-tinh-trang-hon-nhan"]
    );
    // Refusals.
    assert_eq!(get(&server, &read_all, &path, false).0, 400, "no purpose");
    assert_eq!(
        get(&server, &write_only, &path, true).0,
        403,
        "no read scope"
    );
    let bad = "/api/v1/reuse?citizen_id=abc&procedure=mau.ket-hon";
    assert_eq!(get(&server, &read_all, bad, true).0, 400);
    let unknown = format!("/api/v1/reuse?citizen_id={PERSON}&procedure=khong-co");
    assert_eq!(get(&server, &read_all, &unknown, true).0, 404);
    let bad_day = format!("{path}&at=29-11-2026");
    assert_eq!(get(&server, &read_all, &bad_day, true).0, 400);

    // Attach: one call links the certified ID card into a new dossier of the person.
    let attach = |key: &str, dossier: &str, id: &str| {
        post_json(
            &server,
            key,
            &format!("/api/v1/dossiers/{dossier}/documents"),
            serde_json::json!({ "document_id": id, "procedure_code": "mau.ket-hon" }),
        )
    };
    let (status, body) = attach(&writer, "NEW-1", &c.certified_id_card);
    assert_eq!(status, 200, "{body}");
    let (_, listed) = get(
        &server,
        &read_all,
        "/api/v1/documents?dossier_code=NEW-1",
        true,
    );
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [c.certified_id_card.as_str()]);
    // Another person's document, a corrected one, an expired one: refused, nothing linked.
    for (id, why) in [
        (&c.other_persons_card, "another person"),
        (&c.superseded_form, "was corrected"),
        (&c.expired_id_card, "expired"),
    ] {
        let (status, body) = attach(&writer, "NEW-1", id);
        assert_eq!(status, 400, "{why}: {body}");
        assert!(body.to_string().contains(why), "{body}");
    }
    assert_eq!(
        attach(&read_all, "NEW-1", &c.plain_id_card).0,
        403,
        "no write scope"
    );
    // A dossier of another agency is not this key's to change.
    store
        .open_dossier(&Dossier {
            code: "KHAC-1".into(),
            procedure_code: "mau.ket-hon".into(),
            citizen_id: PERSON.into(),
            agency: OTHER_AGENCY.into(),
            received_on: None,
            returned_on: None,
        })
        .unwrap();
    assert_eq!(attach(&writer, "KHAC-1", &c.plain_id_card).0, 400);
    let (_, listed) = get(
        &server,
        &read_all,
        "/api/v1/documents?dossier_code=NEW-1",
        true,
    );
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Every answer was audited with the ids it showed.
    let audit: Value =
        serde_json::from_str(&ok(&cli(&dir, &["audit", "list", "--limit", "100"]))).unwrap();
    let entries = audit.as_array().unwrap();
    assert!(entries.iter().any(|e| {
        e["action"]
            .as_str()
            .unwrap_or("")
            .starts_with("GET /api/v1/reuse")
            && e.to_string().contains(&c.certified_id_card)
    }));
    assert!(
        entries.iter().any(|e| {
            e["action"].as_str().unwrap_or("").contains("/api/v1/reuse")
                && e["action"].as_str().unwrap_or("").ends_with("-> 403")
        }),
        "refusals are audited too"
    );
    assert!(entries.iter().any(|e| {
        e["action"]
            .as_str()
            .unwrap_or("")
            .starts_with("POST /api/v1/dossiers/NEW-1/documents")
            && e.to_string().contains(&c.certified_id_card)
    }));

    // The CLI attaches too, with the same rules.
    drop(server);
    let out = ok(&cli(
        &dir,
        &[
            "reuse",
            "attach",
            "--dossier",
            "NEW-2",
            "--document",
            &c.plain_id_card,
            "--procedure",
            "mau.ket-hon",
            "--agency",
            AGENCY,
        ],
    ));
    assert!(out.contains("attached"), "{out}");
    let out = cli(
        &dir,
        &[
            "reuse",
            "attach",
            "--dossier",
            "NEW-2",
            "--document",
            &c.other_persons_card,
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another person"));
}

// ------------------------------------------------------------------ indicators

/// A tiny deterministic generator (xorshift64*), so the store is the same every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What the test generated for one dossier, to count the indicators independently.
struct Generated {
    code: String,
    procedure: String,
    agency: String,
    received: Option<String>,
    returned: Option<String>,
    /// Component kinds held: own component documents and attached documents.
    kinds: HashSet<String>,
    has_result: bool,
    reuses: bool,
    certified: u64,
}

/// procedure → (required component kinds, optional ones, result kind), from the JSON.
fn catalogue() -> BTreeMap<String, (Vec<String>, Vec<String>, String)> {
    let json: Value = serde_json::from_slice(&std::fs::read(CATALOG).unwrap()).unwrap();
    let mut map = BTreeMap::new();
    for p in json.as_array().unwrap() {
        let (mut required, mut optional) = (Vec::new(), Vec::new());
        for c in p["components"].as_array().unwrap() {
            let kind = c["kind"].as_str().unwrap().to_string();
            if c["required"].as_bool().unwrap_or(true) {
                required.push(kind);
            } else {
                optional.push(kind);
            }
        }
        let result = p["results"][0]["kind"].as_str().unwrap().to_string();
        map.insert(
            p["code"].as_str().unwrap().to_string(),
            (required, optional, result),
        );
    }
    map
}

/// Generates `count` dossiers of 900 people over 2026 into `store`, with documents,
/// results, certified copies and attachments.
fn generate(store: &Store, count: usize) -> Vec<Generated> {
    let catalogue = catalogue();
    let mut procedures: Vec<&String> = catalogue.keys().collect();
    let uncatalogued = "khong-trong-danh-muc".to_string();
    procedures.push(&uncatalogued);
    let agencies = [AGENCY, OTHER_AGENCY, "UBND-PHUONG-1"];
    let start = parse_day("2026-01-01").unwrap();
    let mut random = Random(0x5eed_cafe);
    let mut generated = Vec::with_capacity(count);
    let mut batch = Vec::new();
    let mut n = 0u64;
    for i in 0..count {
        let procedure = procedures[random.below(procedures.len() as u64) as usize].clone();
        let citizen = format!("0010{:08}", random.below(900));
        let agency = agencies[random.below(3) as usize].to_string();
        let received_day = add_days(start, random.below(365) as i64);
        let received = (!random.chance(5)).then(|| received_day.to_string());
        let returned = random
            .chance(60)
            .then(|| add_days(received_day, random.below(40) as i64).to_string());
        let code = format!("HS-{i:05}");
        let (required, optional, result) =
            catalogue.get(&procedure).cloned().unwrap_or_else(|| {
                (
                    Vec::new(),
                    vec!["giay-to-khac".to_string()],
                    "ket-qua".to_string(),
                )
            });
        let mut g = Generated {
            code: code.clone(),
            procedure: procedure.clone(),
            agency: agency.clone(),
            received,
            returned,
            kinds: HashSet::new(),
            has_result: false,
            reuses: false,
            certified: 0,
        };
        let mut add = |kind: &str, role: Role, random: &mut Random, g: &mut Generated| {
            n += 1;
            let mut ingest = doc(n, &code, &procedure, &citizen, kind, role);
            ingest.new.agency = agency.clone();
            if random.chance(10) {
                ingest.reference = Some(format!("TEST-REF-{n}"));
                g.certified += 1;
            }
            batch.push(ingest);
        };
        for kind in &required {
            if random.chance(85) {
                add(kind, Role::Component, &mut random, &mut g);
                g.kinds.insert(kind.clone());
            }
        }
        for kind in &optional {
            if random.chance(30) {
                add(kind, Role::Component, &mut random, &mut g);
                g.kinds.insert(kind.clone());
            }
        }
        if g.returned.is_some() && random.chance(70) {
            add(&result, Role::Result, &mut random, &mut g);
            g.has_result = true;
        }
        generated.push(g);
        if batch.len() >= 1000 {
            store.add_documents(&batch).unwrap();
            batch.clear();
        }
    }
    store.add_documents(&batch).unwrap();
    // Every dossier exists (one without documents is created here); dates as generated.
    let dates: Vec<_> = generated
        .iter()
        .map(|g| {
            store
                .open_dossier(&Dossier {
                    code: g.code.clone(),
                    procedure_code: g.procedure.clone(),
                    citizen_id: citizen_of(store, g),
                    agency: g.agency.clone(),
                    received_on: None,
                    returned_on: None,
                })
                .unwrap();
            (g.code.clone(), g.received.clone(), g.returned.clone())
        })
        .collect();
    store.set_dossier_dates_many(&dates).unwrap();
    attach_some(store, &mut generated, &mut random);
    generated
}

/// The person of a generated dossier (its documents carry it; an empty one gets one).
fn citizen_of(store: &Store, g: &Generated) -> String {
    match store.dossier(&g.code).unwrap() {
        Some(d) => d.citizen_id,
        None => "001099999999".into(),
    }
}

/// Attaches, to about 15 % of the dossiers, a document of another dossier of the same
/// person.
fn attach_some(store: &Store, generated: &mut [Generated], random: &mut Random) {
    let mut by_person: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, g) in generated.iter().enumerate() {
        let person = store.dossier(&g.code).unwrap().unwrap().citizen_id;
        by_person.entry(person).or_default().push(i);
    }
    for i in 0..generated.len() {
        if !random.chance(15) {
            continue;
        }
        let dossier = store.dossier(&generated[i].code).unwrap().unwrap();
        let others = &by_person[&dossier.citizen_id];
        let Some(&j) = others
            .iter()
            .find(|&&j| j != i && !generated[j].kinds.is_empty())
        else {
            continue;
        };
        let docs = store.documents_by_dossier(&generated[j].code).unwrap();
        let own: Vec<_> = docs
            .iter()
            .filter(|d| d.dossier_code == generated[j].code)
            .collect();
        let chosen = own[random.below(own.len() as u64) as usize];
        store.attach(&chosen.id, &dossier, "test").unwrap();
        generated[i].reuses = true;
        generated[i].kinds.insert(chosen.kind.clone());
    }
}

/// The indicators counted from what was generated: group → the JSON keys.
fn expected(
    generated: &[Generated],
    from: &str,
    to: &str,
    agency: Option<&str>,
    by: GroupBy,
) -> BTreeMap<String, BTreeMap<&'static str, u64>> {
    let catalogue = catalogue();
    let today = local_today();
    let group = |day: &str, g: &Generated| match by {
        GroupBy::None => "all".to_string(),
        GroupBy::Month => day[..7].to_string(),
        GroupBy::Agency => g.agency.clone(),
        GroupBy::Procedure => g.procedure.clone(),
    };
    let mut rows: BTreeMap<String, BTreeMap<&'static str, u64>> = BTreeMap::new();
    let inside = |day: &str| from <= day && day <= to;
    for g in generated
        .iter()
        .filter(|g| agency.is_none_or(|a| a == g.agency))
    {
        let received = g.received.clone().unwrap_or_else(|| today.clone());
        if inside(&received) {
            let row = rows.entry(group(&received, g)).or_default();
            *row.entry("dossiers").or_default() += 1;
            let complete = match catalogue.get(&g.procedure) {
                Some((required, _, _)) => required.iter().all(|k| g.kinds.contains(k)),
                None => !g.kinds.is_empty(),
            };
            *row.entry("dossiers_fully_digitized").or_default() += u64::from(complete);
            *row.entry("dossiers_with_reuse").or_default() += u64::from(g.reuses);
        }
        if let Some(returned) = g.returned.as_deref().filter(|d| inside(d)) {
            let row = rows.entry(group(returned, g)).or_default();
            *row.entry("results").or_default() += 1;
            *row.entry("results_digitized").or_default() += u64::from(g.has_result);
        }
        if g.certified > 0 && inside(&today) {
            *rows
                .entry(group(&today, g))
                .or_default()
                .entry("certified_copies")
                .or_default() += g.certified;
        }
    }
    for row in rows.values_mut() {
        row.retain(|_, count| *count > 0);
    }
    rows.retain(|_, row| !row.is_empty());
    rows
}

/// The counts of a report, in the shape of [`expected`].
fn counts(rows: &Value) -> BTreeMap<String, BTreeMap<&'static str, u64>> {
    let keys = [
        "dossiers",
        "dossiers_fully_digitized",
        "results",
        "results_digitized",
        "dossiers_with_reuse",
        "certified_copies",
    ];
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let counts = keys
                .iter()
                .filter_map(|k| Some((*k, r[*k].as_u64()?)).filter(|(_, v)| *v > 0))
                .collect();
            (r["group"].as_str().unwrap().to_string(), counts)
        })
        .filter(|(_, c): &(String, BTreeMap<&str, u64>)| !c.is_empty())
        .collect()
}

#[test]
fn indicators_equal_an_independent_count_on_three_thousand_dossiers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = common::open_store(&dir);
    for code in [AGENCY, OTHER_AGENCY, "UBND-PHUONG-1"] {
        store.add_agency(code, code).unwrap();
    }
    ok(&cli(&dir, &["catalog", "import", CATALOG]));
    let generated = generate(&store, 3000);
    let reused = generated.iter().filter(|g| g.reuses).count();
    assert!(reused > 200, "the store must exercise reuse: {reused}");

    let today = local_today();
    let periods = [
        ("2026-01-01", "2026-12-31"),
        ("2026-03-01", "2026-05-31"),
        ("2027-01-01", "2027-02-28"),
        (today.as_str(), today.as_str()),
    ];
    for (from, to) in periods {
        for by in [
            GroupBy::None,
            GroupBy::Month,
            GroupBy::Agency,
            GroupBy::Procedure,
        ] {
            for agency in [None, Some(OTHER_AGENCY)] {
                let query = IndicatorQuery {
                    from: from.into(),
                    to: to.into(),
                    agency: agency.map(str::to_string),
                    by,
                };
                let rows = serde_json::to_value(store.indicators(&query).unwrap()).unwrap();
                assert_eq!(
                    counts(&rows),
                    expected(&generated, from, to, agency, by),
                    "{from}..{to} by {by:?} agency {agency:?}"
                );
            }
        }
    }
    // Rates are the counts over their base; the CLI prints the same figures as JSON and CSV.
    let out = ok(&cli(
        &dir,
        &[
            "report",
            "indicators",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--json",
        ],
    ));
    let rows: Value = serde_json::from_str(&out).unwrap();
    let all = &rows[0];
    let rate = all["reuse_rate"].as_f64().unwrap();
    let expect = all["dossiers_with_reuse"].as_f64().unwrap() / all["dossiers"].as_f64().unwrap();
    assert!((rate - expect).abs() < 1e-12);
    assert_eq!(
        counts(&rows),
        expected(&generated, "2026-01-01", "2026-12-31", None, GroupBy::None)
    );
    let csv = ok(&cli(
        &dir,
        &[
            "report",
            "indicators",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--by",
            "month",
            "--csv",
        ],
    ));
    assert!(
        csv.starts_with("group,dossiers,dossiers_fully_digitized,digitization_rate"),
        "{csv}"
    );
    assert!(csv.lines().count() >= 13, "{csv}");
    // A period with nothing: one row of zeros, rates null.
    let empty = ok(&cli(
        &dir,
        &[
            "report",
            "indicators",
            "--from",
            "2030-01-01",
            "--to",
            "2030-01-31",
            "--json",
        ],
    ));
    let empty: Value = serde_json::from_str(&empty).unwrap();
    assert_eq!(empty[0]["dossiers"], 0);
    assert!(empty[0]["reuse_rate"].is_null());
    // Bad periods are refused.
    for (from, to) in [("2026-12-31", "2026-01-01"), ("2026-13-01", "2026-12-31")] {
        let out = cli(&dir, &["report", "indicators", "--from", from, "--to", to]);
        assert!(!out.status.success());
    }
}

#[test]
fn a_catalogue_imports_from_csv_and_updates_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    ok(&cli(&dir, &["catalog", "import", CATALOG]));
    let csv = tmp.path().join("update.csv");
    std::fs::write(
        &csv,
        "procedure_code,procedure_name,agency_level,role,kind,name,required,valid_days\n\
         mau.ket-hon,Đăng ký kết hôn (sửa),xa,,to-khai-ket-hon,Tờ khai,true,\n\
         mau.ket-hon,Đăng ký kết hôn (sửa),xa,,can-cuoc,Căn cước công dân,true,3650\n\
         mau.moi,Thủ tục mới,huyen,,don-moi,Đơn mới,true,\n",
    )
    .unwrap();
    assert!(ok(&cli(&dir, &["catalog", "import", csv.to_str().unwrap()])).contains("imported 2"));
    let list: Value =
        serde_json::from_str(&ok(&cli(&dir, &["catalog", "list", "--json"]))).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(
        list.len(),
        15,
        "14 sample procedures, one replaced, one new"
    );
    let marriage = list.iter().find(|p| p["code"] == "mau.ket-hon").unwrap();
    assert_eq!(marriage["name"], "Đăng ký kết hôn (sửa)");
    assert_eq!(marriage["components"].as_array().unwrap().len(), 2);
    assert_eq!(marriage["components"][1]["valid_days"], 3650);
    // The JSON list imports back as it is.
    let round = tmp.path().join("round.json");
    std::fs::write(&round, serde_json::to_vec(&list).unwrap()).unwrap();
    ok(&cli(&dir, &["catalog", "import", round.to_str().unwrap()]));
    let again: Value =
        serde_json::from_str(&ok(&cli(&dir, &["catalog", "list", "--json"]))).unwrap();
    assert_eq!(again.as_array().unwrap(), list);
    // A bad file changes nothing and says where it is wrong.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "procedure_code,procedure_name,kind,name,required,valid_days\n\
         mau.ket-hon,X,a,A,true,\n\
         mau.ket-hon,X,b,B,maybe,\n",
    )
    .unwrap();
    let out = cli(&dir, &["catalog", "import", bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("row 3") && stderr.contains("required"),
        "{stderr}"
    );
    let after: Value =
        serde_json::from_str(&ok(&cli(&dir, &["catalog", "list", "--json"]))).unwrap();
    assert_eq!(after.as_array().unwrap(), list);
    std::fs::write(&bad, "[{\"code\": \"x\"").unwrap();
    assert!(!cli(&dir, &["catalog", "import", bad.to_str().unwrap()])
        .status
        .success());
}
