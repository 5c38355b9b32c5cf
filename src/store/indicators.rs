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

use std::collections::{BTreeMap, HashMap};

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

/// The day a dossier counts as received.
const RECEIVED: &str = "coalesce(s.received_on, date(s.created_at, '+7 hours'))";

/// Dossiers received or returned in the period `?1`..`?2`, of agency `?3` (or any).
fn in_period() -> String {
    format!(
        "({RECEIVED} BETWEEN ?1 AND ?2 OR s.returned_on BETWEEN ?1 AND ?2) \
         AND (?3 IS NULL OR s.agency = ?3)"
    )
}

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
    let mut kinds = Interner::default();
    let required = required_kinds(conn, &mut kinds)?;
    let mut period = Period::load(conn, &args)?;
    period.add_documents(conn, &mut kinds)?;
    period.add_links(conn, &mut kinds)?;
    let inside = |day: &str| query.from.as_str() <= day && day <= query.to.as_str();
    let group_of = |day: &str, agency: &str, procedure: &str| match query.by {
        GroupBy::None => "all".to_string(),
        GroupBy::Month => day.get(..7).unwrap_or(day).to_string(),
        GroupBy::Agency => agency.to_string(),
        GroupBy::Procedure => procedure.to_string(),
    };
    let mut groups: BTreeMap<String, Indicators> = BTreeMap::new();
    for d in &period.dossiers {
        let procedure = period.names.get(d.procedure);
        let agency = period.names.get(d.agency);
        if inside(&d.received) {
            let row = groups
                .entry(group_of(&d.received, agency, procedure))
                .or_default();
            row.dossiers += 1;
            let complete = match required.get(procedure) {
                Some(needed) => needed.iter().all(|k| d.kinds.contains(k)),
                None => !d.kinds.is_empty(),
            };
            row.dossiers_fully_digitized += u64::from(complete);
            row.dossiers_with_reuse += u64::from(d.reuses);
        }
        if let Some(returned) = d.returned.as_deref().filter(|day| inside(day)) {
            let row = groups
                .entry(group_of(returned, agency, procedure))
                .or_default();
            row.results += 1;
            row.results_digitized += u64::from(d.has_result);
        }
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

/// Small integer ids for the strings a year of dossiers repeats (kinds, procedure and
/// agency codes): hundreds of thousands of rows, a few dozen distinct values.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.to_string(), id);
        self.names.push(name.to_string());
        id
    }

    fn get(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// Required component kinds (interned) of each catalogued procedure.
fn required_kinds(
    conn: &Connection,
    kinds: &mut Interner,
) -> Result<HashMap<String, Vec<u32>>, StoreError> {
    let mut map: HashMap<String, Vec<u32>> = conn
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
        map.entry(procedure).or_default().push(kinds.id(&kind));
    }
    Ok(map)
}

/// Column `i` of `row` as text, borrowed (no allocation per row).
fn text<'r>(row: &'r rusqlite::Row, i: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// One dossier received or returned in the period, with what it holds.
struct PeriodDossier {
    procedure: u32,
    agency: u32,
    received: String,
    returned: Option<String>,
    /// Component kinds held: own component documents and attached documents.
    kinds: Vec<u32>,
    has_result: bool,
    reuses: bool,
}

/// The dossiers of the period, by code.
struct Period {
    dossiers: Vec<PeriodDossier>,
    at: HashMap<String, usize>,
    names: Interner,
}

impl Period {
    fn load(conn: &Connection, args: &[&dyn ToSql]) -> Result<Period, StoreError> {
        let sql = format!(
            "SELECT s.code, s.procedure_code, s.agency, {RECEIVED}, s.returned_on
             FROM dossiers s WHERE {}",
            in_period()
        );
        let mut period = Period {
            dossiers: Vec::new(),
            at: HashMap::new(),
            names: Interner::default(),
        };
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(args)?;
        while let Some(r) = rows.next()? {
            let dossier = PeriodDossier {
                procedure: period.names.id(text(r, 1)?),
                agency: period.names.id(text(r, 2)?),
                received: r.get(3)?,
                returned: r.get(4)?,
                kinds: Vec::new(),
                has_result: false,
                reuses: false,
            };
            period.at.insert(r.get(0)?, period.dossiers.len());
            period.dossiers.push(dossier);
        }
        Ok(period)
    }

    /// Each dossier's own documents: component kinds, and whether a result is stored.
    /// One sequential pass over the documents, matched by dossier code here: SQLite would
    /// otherwise search the dossier (or its documents) once per row, several times slower.
    fn add_documents(&mut self, conn: &Connection, kinds: &mut Interner) -> Result<(), StoreError> {
        let mut stmt = conn.prepare("SELECT dossier_code, role = 'result', kind FROM documents")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let Some(&i) = self.at.get(text(r, 0)?) else {
                continue;
            };
            if r.get::<_, bool>(1)? {
                self.dossiers[i].has_result = true;
            } else {
                let kind = kinds.id(text(r, 2)?);
                self.dossiers[i].kinds.push(kind);
            }
        }
        Ok(())
    }

    /// Documents attached from other dossiers: reuse, and the kinds they supply.
    fn add_links(&mut self, conn: &Connection, kinds: &mut Interner) -> Result<(), StoreError> {
        let mut stmt = conn.prepare(
            "SELECT l.dossier_code, d.kind FROM dossier_links l JOIN documents d ON d.id = l.document_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let Some(&i) = self.at.get(text(r, 0)?) else {
                continue;
            };
            let kind = kinds.id(text(r, 1)?);
            self.dossiers[i].reuses = true;
            self.dossiers[i].kinds.push(kind);
        }
        Ok(())
    }
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
