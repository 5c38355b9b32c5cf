//! The procedure catalogue: each administrative procedure (thủ tục hành chính) with the
//! document kinds it needs (components) and issues (results), and how long a document of
//! a kind stays usable for it. The reuse finder and the indicators read it; the clerk's
//! page picks procedures and kinds from it.
//!
//! Imported from JSON (an array of [`Procedure`]) or CSV (one row per component or
//! result); an import replaces the procedures it names and leaves the others alone.

use std::collections::HashMap;

use super::sql::{args, Sql};
use serde::{Deserialize, Serialize};

use super::clock::now;
use super::search::fold;
use super::StoreError;
use crate::values::{check_code, check_text};

/// Procedures one import may hold.
pub const MAX_PROCEDURES: usize = 20_000;
/// Components plus results of one procedure, at most.
const MAX_ITEMS: usize = 100;
/// The longest `valid_days` accepted (100 years).
const MAX_VALID_DAYS: u32 = 36_500;

/// The tables, created with the rest of the index.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS procedures (
    code TEXT PRIMARY KEY, name TEXT NOT NULL, agency_level TEXT NOT NULL,
    folded TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS procedure_items (
    procedure_code TEXT NOT NULL REFERENCES procedures(code),
    role TEXT NOT NULL CHECK (role IN ('component', 'result')), ord INTEGER NOT NULL,
    kind TEXT NOT NULL, name TEXT NOT NULL, required INTEGER NOT NULL, valid_days INTEGER,
    PRIMARY KEY (procedure_code, role, ord)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kinds (code TEXT PRIMARY KEY, name TEXT NOT NULL);
";

/// An administrative procedure and the documents it takes and gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// Procedure code (mã TTHC), e.g. `1.001193`.
    pub code: String,
    /// Name, e.g. "Đăng ký khai sinh".
    pub name: String,
    /// Level of the agency that handles it: `xa` (commune), `huyen` (district), `tinh`.
    #[serde(default)]
    pub agency_level: String,
    /// Documents the citizen submits.
    #[serde(default)]
    pub components: Vec<Requirement>,
    /// Documents the procedure issues.
    #[serde(default)]
    pub results: Vec<Requirement>,
}

/// A document kind a procedure takes or gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Document-kind code, e.g. `giay-khai-sinh`.
    pub kind: String,
    /// Display name, e.g. "Giấy khai sinh".
    pub name: String,
    /// Whether the procedure cannot go on without it (results: always true).
    #[serde(default = "yes")]
    pub required: bool,
    /// Days after it was stored that a document of this kind stays usable for this
    /// procedure (none: until its own `valid_until`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_days: Option<u32>,
}

fn yes() -> bool {
    true
}

/// A document kind and its display name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kind {
    /// Code.
    pub code: String,
    /// Display name.
    pub name: String,
}

/// Reads a catalogue file: JSON (an array of procedures) or CSV (by the first byte).
pub fn parse(bytes: &[u8]) -> Result<Vec<Procedure>, StoreError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Invalid(format!("catalogue JSON: {e}")))
    } else {
        parse_csv(bytes)
    }
}

/// One CSV row: a component (or, with `role` = `result`, a result) of a procedure.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvRow {
    procedure_code: String,
    procedure_name: String,
    #[serde(default)]
    agency_level: String,
    #[serde(default)]
    role: String,
    kind: String,
    name: String,
    #[serde(default)]
    required: String,
    #[serde(default)]
    valid_days: String,
}

fn parse_csv(bytes: &[u8]) -> Result<Vec<Procedure>, StoreError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut procedures: Vec<Procedure> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for (line, row) in reader.deserialize::<CsvRow>().enumerate() {
        let row_error =
            |e: String| StoreError::Invalid(format!("catalogue CSV row {}: {e}", line + 2));
        let row = row.map_err(|e| row_error(e.to_string()))?;
        let index = *at.entry(row.procedure_code.clone()).or_insert_with(|| {
            procedures.push(Procedure {
                code: row.procedure_code.clone(),
                name: row.procedure_name.clone(),
                agency_level: row.agency_level.clone(),
                components: Vec::new(),
                results: Vec::new(),
            });
            procedures.len() - 1
        });
        let item = Requirement {
            kind: row.kind,
            name: row.name,
            required: yes_no(&row.required).map_err(row_error)?,
            valid_days: match row.valid_days.as_str() {
                "" => None,
                days => Some(days.parse().map_err(|_| {
                    row_error(format!("valid_days {days:?} is not a whole number of days"))
                })?),
            },
        };
        let procedure = &mut procedures[index];
        match row.role.as_str() {
            "" | "component" => procedure.components.push(item),
            "result" => procedure.results.push(item),
            other => {
                return Err(row_error(format!(
                    "role {other:?}: use component or result"
                )))
            }
        }
    }
    Ok(procedures)
}

fn yes_no(text: &str) -> Result<bool, String> {
    match fold(text).as_str() {
        "" | "1" | "true" | "yes" | "co" | "x" => Ok(true),
        "0" | "false" | "no" | "khong" => Ok(false),
        other => Err(format!("required {other:?}: use true or false")),
    }
}

/// Checks every procedure of an import before anything is written.
pub fn check(procedures: &[Procedure]) -> Result<(), StoreError> {
    if procedures.len() > MAX_PROCEDURES {
        return Err(StoreError::Invalid(format!(
            "a catalogue holds at most {MAX_PROCEDURES} procedures"
        )));
    }
    let mut seen = HashMap::new();
    for p in procedures {
        let at = |e: StoreError| StoreError::Invalid(format!("procedure {:?}: {e}", p.code));
        check_code("procedure code", &p.code)?;
        if seen.insert(p.code.as_str(), ()).is_some() {
            return Err(StoreError::Invalid(format!(
                "procedure {:?} appears twice",
                p.code
            )));
        }
        check_text("procedure name", &p.name, 500).map_err(|e| at(e.into()))?;
        if !p.agency_level.is_empty() {
            check_code("agency_level", &p.agency_level).map_err(|e| at(e.into()))?;
        }
        if p.components.len() + p.results.len() > MAX_ITEMS {
            return Err(at(StoreError::Invalid(format!(
                "at most {MAX_ITEMS} components and results"
            ))));
        }
        for list in [&p.components, &p.results] {
            check_items(list).map_err(at)?;
        }
    }
    Ok(())
}

fn check_items(items: &[Requirement]) -> Result<(), StoreError> {
    for (i, item) in items.iter().enumerate() {
        check_code("kind", &item.kind)?;
        check_text("name", &item.name, 500)?;
        if item
            .valid_days
            .is_some_and(|d| d == 0 || d > MAX_VALID_DAYS)
        {
            return Err(StoreError::Invalid(format!(
                "kind {}: valid_days must be 1 to {MAX_VALID_DAYS}",
                item.kind
            )));
        }
        if items[..i].iter().any(|other| other.kind == item.kind) {
            return Err(StoreError::Invalid(format!(
                "kind {} listed twice",
                item.kind
            )));
        }
    }
    Ok(())
}

/// Writes `procedures` (checked), replacing those with the same code; each kind takes
/// the name it has in the import where it first appears.
pub fn import(tx: &mut dyn Sql, procedures: &[Procedure]) -> Result<(), StoreError> {
    let at = now();
    for p in procedures {
        tx.execute(
            "INSERT INTO procedures (code, name, agency_level, folded, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (code) DO UPDATE SET name = ?2, agency_level = ?3, folded = ?4,
                 updated_at = ?5",
            args![
                p.code,
                p.name,
                p.agency_level,
                fold(&format!("{} {}", p.code, p.name)),
                at
            ],
        )?;
        tx.execute(
            "DELETE FROM procedure_items WHERE procedure_code = ?1",
            args![p.code],
        )?;
        for (role, items) in [("component", &p.components), ("result", &p.results)] {
            for (ord, item) in items.iter().enumerate() {
                tx.execute(
                    "INSERT INTO procedure_items
                     (procedure_code, role, ord, kind, name, required, valid_days)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    args![
                        p.code,
                        role,
                        ord,
                        item.kind,
                        item.name,
                        item.required || role == "result",
                        item.valid_days
                    ],
                )?;
            }
        }
    }
    let mut named = HashMap::new();
    for item in procedures
        .iter()
        .flat_map(|p| p.components.iter().chain(&p.results))
    {
        named
            .entry(item.kind.as_str())
            .or_insert(item.name.as_str());
    }
    for (code, name) in named {
        tx.execute(
            "INSERT INTO kinds (code, name) VALUES (?1, ?2)
             ON CONFLICT (code) DO UPDATE SET name = ?2",
            args![code, name],
        )?;
    }
    Ok(())
}

/// Every procedure, by code.
pub fn procedures(conn: &mut dyn Sql) -> Result<Vec<Procedure>, StoreError> {
    let heads: Vec<(String, String, String)> = conn.query_map(
        "SELECT code, name, agency_level FROM procedures ORDER BY code",
        args![],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut list: Vec<Procedure> = Vec::new();
    for (code, name, agency_level) in heads {
        list.push(Procedure {
            code,
            name,
            agency_level,
            components: Vec::new(),
            results: Vec::new(),
        });
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, p) in list.iter().enumerate() {
        index.insert(p.code.clone(), i);
    }
    let rows = conn.query_map(
        "SELECT procedure_code, role, kind, name, required, valid_days FROM procedure_items
         ORDER BY procedure_code, role, ord",
        args![],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                Requirement {
                    kind: r.get(2)?,
                    name: r.get(3)?,
                    required: r.get(4)?,
                    valid_days: r.get(5)?,
                },
            ))
        },
    )?;
    for (code, role, item) in rows {
        if let Some(&i) = index.get(&code) {
            match role.as_str() {
                "component" => list[i].components.push(item),
                _ => list[i].results.push(item),
            }
        }
    }
    Ok(list)
}

/// One procedure with its components and results.
pub fn procedure(conn: &mut dyn Sql, code: &str) -> Result<Option<Procedure>, StoreError> {
    let head: Option<(String, String)> = conn.query_opt(
        "SELECT name, agency_level FROM procedures WHERE code = ?1",
        args![code],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some((name, agency_level)) = head else {
        return Ok(None);
    };
    let mut procedure = Procedure {
        code: code.to_string(),
        name,
        agency_level,
        components: Vec::new(),
        results: Vec::new(),
    };
    let rows = conn.query_map(
        "SELECT role, kind, name, required, valid_days FROM procedure_items
         WHERE procedure_code = ?1 ORDER BY role, ord",
        args![code],
        |r| {
            Ok((
                r.get::<String>(0)?,
                Requirement {
                    kind: r.get(1)?,
                    name: r.get(2)?,
                    required: r.get(3)?,
                    valid_days: r.get(4)?,
                },
            ))
        },
    )?;
    for (role, item) in rows {
        match role.as_str() {
            "component" => procedure.components.push(item),
            _ => procedure.results.push(item),
        }
    }
    Ok(Some(procedure))
}

/// Procedures whose code or name contains every word of `text`, insensitive to case and
/// Vietnamese diacritics ("khai sinh" finds "Đăng ký khai sinh"); all when `text` is blank.
pub fn find_procedures(conn: &mut dyn Sql, text: &str) -> Result<Vec<Procedure>, StoreError> {
    let words: Vec<String> = fold(text).split_whitespace().map(str::to_string).collect();
    let all = procedures(conn)?;
    if words.is_empty() {
        return Ok(all);
    }
    let folded: HashMap<String, String> = conn
        .query_map("SELECT code, folded FROM procedures", args![], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .into_iter()
        .collect();
    Ok(all
        .into_iter()
        .filter(|p| {
            folded
                .get(&p.code)
                .is_some_and(|f| words.iter().all(|w| f.contains(w.as_str())))
        })
        .collect())
}

/// Every named kind, by name.
pub fn kinds(conn: &mut dyn Sql) -> Result<Vec<Kind>, StoreError> {
    conn.query_map(
        "SELECT code, name FROM kinds ORDER BY name, code",
        args![],
        |r| {
            Ok(Kind {
                code: r.get(0)?,
                name: r.get(1)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str =
        "\u{feff}procedure_code,procedure_name,agency_level,role,kind,name,required,valid_days\n\
        1.001193,Đăng ký khai sinh,xa,,to-khai-khai-sinh,Tờ khai đăng ký khai sinh,true,\n\
        1.001193,Đăng ký khai sinh,xa,,giay-chung-sinh,Giấy chứng sinh,có,\n\
        1.001193,Đăng ký khai sinh,xa,result,giay-khai-sinh,Giấy khai sinh,,\n\
        2.000001,Xác nhận cư trú,xa,,can-cuoc,Căn cước,false,365\n";

    #[test]
    fn csv_rows_group_into_procedures() {
        let list = parse(CSV.as_bytes()).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].components.len(), 2);
        assert_eq!(list[0].results[0].kind, "giay-khai-sinh");
        assert!(list[0].components[1].required);
        assert!(!list[1].components[0].required);
        assert_eq!(list[1].components[0].valid_days, Some(365));
        check(&list).unwrap();
    }

    #[test]
    fn bad_catalogues_are_refused_with_the_place() {
        let bad_days = CSV.replace(",365", ",một năm");
        let e = parse(bad_days.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("row 5") && e.contains("valid_days"), "{e}");
        let json = r#"[{"code":"x","name":"X","components":[{"kind":"a","name":"A"},{"kind":"a","name":"B"}]}]"#;
        let e = check(&parse(json.as_bytes()).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("listed twice"), "{e}");
        let json = r#"[{"code":"../x","name":"X"}]"#;
        assert!(check(&parse(json.as_bytes()).unwrap()).is_err());
        let json = r#"[{"code":"x","name":"X","extra":1}]"#;
        assert!(parse(json.as_bytes()).is_err());
        let json =
            r#"[{"code":"x","name":"X","components":[{"kind":"a","name":"A","valid_days":0}]}]"#;
        assert!(check(&parse(json.as_bytes()).unwrap()).is_err());
    }
}
