//! The province's digitization and reuse indicators over a period, as its reports count
//! them: shares of the dossiers received in the period.
//!
//! - `dossiers`: dossiers received in the period (`received_on`, else the day the dossier
//!   was created, in Vietnam).
//! - `dossiers_fully_digitized`: of those, the ones holding a document of every required
//!   component kind of their procedure in the catalogue, their own or attached for reuse; a
//!   procedure missing from the catalogue needs at least one component document.
//! - `results`: dossiers returned in the period (`returned_on`); `results_digitized`: of
//!   those, the ones with a stored result document.
//! - `dossiers_with_reuse`: dossiers received in the period with at least one document
//!   attached from another dossier.
//! - `certified_copies`: electronic certified copies stored in the period.
//!
//! Rates are the counts over their base (`null` when the base is 0).

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::types::ToSql;
use rusqlite::Connection;
use serde::Serialize;

use super::index::{check_code, check_date};
use super::StoreError;

/// How the figures are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// One row for the whole period.
    #[default]
    None,
    /// By month (`YYYY-MM`) of receipt, return or storing.
    Month,
    /// By handling agency.
    Agency,
    /// By procedure code.
    Procedure,
}

/// The period and filters of a report.
#[derive(Debug, Clone)]
pub struct IndicatorQuery {
    /// First day (`YYYY-MM-DD`).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Only this handling agency.
    pub agency: Option<String>,
    /// Grouping.
    pub by: GroupBy,
}

/// The indicators of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Indicators {
    /// The group: `all`, a month `YYYY-MM`, an agency code or a procedure code.
    pub group: String,
    /// Dossiers received.
    pub dossiers: u64,
    /// Received dossiers with every required component on file.
    pub dossiers_fully_digitized: u64,
    /// `dossiers_fully_digitized / dossiers`.
    pub digitization_rate: Option<f64>,
    /// Dossiers returned (results given back).
    pub results: u64,
    /// Returned dossiers with a stored result document.
    pub results_digitized: u64,
    /// `results_digitized / results`.
    pub results_digitization_rate: Option<f64>,
    /// Received dossiers that reuse at least one document of another dossier.
    pub dossiers_with_reuse: u64,
    /// `dossiers_with_reuse / dossiers`.
    pub reuse_rate: Option<f64>,
    /// Certified copies stored.
    pub certified_copies: u64,
}

/// The same day filter in every query: `?1`..`?2`, and `?3` the agency (or NULL).
const RECEIVED: &str = "coalesce(s.received_on, date(s.created_at, '+7 hours'))";

/// Computes the indicators of `query`, one row per group, groups sorted.
pub fn indicators(
    conn: &Connection,
    query: &IndicatorQuery,
) -> Result<Vec<Indicators>, StoreError> {
    check_date("from", &query.from)?;
    check_date("to", &query.to)?;
    if query.from > query.to {
        return Err(StoreError::Invalid("from is after to".into()));
    }
    if let Some(agency) = &query.agency {
        check_code("agency", agency)?;
    }
    let args: [&dyn ToSql; 3] = [&query.from, &query.to, &query.agency];
    let required = required_kinds(conn)?;
    let mut groups: BTreeMap<String, Indicators> = BTreeMap::new();
    let group_of = |month: &str, agency: &str, procedure: &str| match query.by {
        GroupBy::None => "all".to_string(),
        GroupBy::Month => month.get(..7).unwrap_or(month).to_string(),
        GroupBy::Agency => agency.to_string(),
        GroupBy::Procedure => procedure.to_string(),
    };
    let received = received_dossiers(conn, &args)?;
    let held = held_kinds(conn, &args)?;
    let reused = reusing_dossiers(conn, &args)?;
    for d in &received {
        let row = groups
            .entry(group_of(&d.day, &d.agency, &d.procedure))
            .or_default();
        row.dossiers += 1;
        let kinds = held.get(&d.code);
        let complete = match required.get(&d.procedure) {
            Some(needed) => needed
                .iter()
                .all(|k| kinds.is_some_and(|held| held.contains(k))),
            None => kinds.is_some_and(|held| !held.is_empty()),
        };
        row.dossiers_fully_digitized += u64::from(complete);
        row.dossiers_with_reuse += u64::from(reused.contains(&d.code));
    }
    for (day, agency, procedure, digitized) in returned_dossiers(conn, &args)? {
        let row = groups
            .entry(group_of(&day, &agency, &procedure))
            .or_default();
        row.results += 1;
        row.results_digitized += u64::from(digitized);
    }
    for (day, agency, procedure) in certified_copies(conn, &args)? {
        groups
            .entry(group_of(&day, &agency, &procedure))
            .or_default()
            .certified_copies += 1;
    }
    if groups.is_empty() && query.by == GroupBy::None {
        groups.insert("all".into(), Indicators::default());
    }
    Ok(groups
        .into_iter()
        .map(|(group, mut row)| {
            row.group = group;
            row.digitization_rate = rate(row.dossiers_fully_digitized, row.dossiers);
            row.results_digitization_rate = rate(row.results_digitized, row.results);
            row.reuse_rate = rate(row.dossiers_with_reuse, row.dossiers);
            row
        })
        .collect())
}

impl std::str::FromStr for GroupBy {
    type Err = String;

    fn from_str(text: &str) -> Result<GroupBy, String> {
        match text {
            "" | "none" => Ok(GroupBy::None),
            "month" => Ok(GroupBy::Month),
            "agency" => Ok(GroupBy::Agency),
            "procedure" => Ok(GroupBy::Procedure),
            _ => Err(format!("group by {text:?}: use month, agency or procedure")),
        }
    }
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Required component kinds of each catalogued procedure.
fn required_kinds(conn: &Connection) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let mut map: HashMap<String, Vec<String>> = conn
        .prepare("SELECT code FROM procedures")?
        .query_map([], |r| r.get::<_, String>(0))?
        .map(|code| code.map(|c| (c, Vec::new())))
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT procedure_code, kind FROM procedure_items WHERE role = 'component' AND required",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (procedure, kind) = row?;
        map.entry(procedure).or_default().push(kind);
    }
    Ok(map)
}

struct Received {
    code: String,
    procedure: String,
    agency: String,
    day: String,
}

fn received_dossiers(conn: &Connection, args: &[&dyn ToSql]) -> Result<Vec<Received>, StoreError> {
    let sql = format!(
        "SELECT s.code, s.procedure_code, s.agency, {RECEIVED} FROM dossiers s
         WHERE {RECEIVED} BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.agency = ?3)"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(args, |r| {
        Ok(Received {
            code: r.get(0)?,
            procedure: r.get(1)?,
            agency: r.get(2)?,
            day: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Component kinds each received dossier holds: its own component documents and every
/// document attached to it.
fn held_kinds(
    conn: &Connection,
    args: &[&dyn ToSql],
) -> Result<HashMap<String, HashSet<String>>, StoreError> {
    let sql = format!(
        "SELECT s.code, d.kind FROM dossiers s JOIN documents d ON d.dossier_code = s.code
         WHERE d.role = 'component' AND {RECEIVED} BETWEEN ?1 AND ?2
             AND (?3 IS NULL OR s.agency = ?3)
         UNION
         SELECT s.code, d.kind FROM dossiers s
             JOIN dossier_links l ON l.dossier_code = s.code
             JOIN documents d ON d.id = l.document_id
         WHERE {RECEIVED} BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.agency = ?3)"
    );
    let mut held: HashMap<String, HashSet<String>> = HashMap::new();
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(args, |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (code, kind) = row?;
        held.entry(code).or_default().insert(kind);
    }
    Ok(held)
}

fn reusing_dossiers(conn: &Connection, args: &[&dyn ToSql]) -> Result<HashSet<String>, StoreError> {
    let sql = format!(
        "SELECT DISTINCT s.code FROM dossiers s JOIN dossier_links l ON l.dossier_code = s.code
         WHERE {RECEIVED} BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.agency = ?3)"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(args, |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// (day returned, agency, procedure, has a result document) of the dossiers returned in
/// the period.
fn returned_dossiers(
    conn: &Connection,
    args: &[&dyn ToSql],
) -> Result<Vec<(String, String, String, bool)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.returned_on, s.agency, s.procedure_code,
             EXISTS (SELECT 1 FROM documents d WHERE d.dossier_code = s.code AND d.role = 'result')
         FROM dossiers s
         WHERE s.returned_on BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.agency = ?3)",
    )?;
    let rows = stmt.query_map(args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// (day stored, agency, procedure) of the certified copies stored in the period.
fn certified_copies(
    conn: &Connection,
    args: &[&dyn ToSql],
) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT date(d.created_at, '+7 hours') AS day, s.agency, s.procedure_code
         FROM documents d JOIN dossiers s ON s.code = d.dossier_code
         WHERE d.reference IS NOT NULL AND day BETWEEN ?1 AND ?2
             AND (?3 IS NULL OR s.agency = ?3)",
    )?;
    let rows = stmt.query_map(args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
