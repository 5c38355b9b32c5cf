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

use super::sql::{args, Engine, Sql, ToValue};
use serde::Serialize;

use super::StoreError;
use crate::values::{check_code, check_date};

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

/// The day (`YYYY-MM-DD`, in Vietnam) of a stored time `column` (RFC 3339, UTC).
fn vietnam_day(engine: Engine, column: &str) -> String {
    match engine {
        Engine::Sqlite => format!("date({column}, '+7 hours')"),
        Engine::Postgres => format!(
            "to_char(CAST({column} AS timestamptz) AT TIME ZONE 'UTC' + interval '7 hours', 'YYYY-MM-DD')"
        ),
    }
}

/// The day a dossier counts as received.
fn received(engine: Engine) -> String {
    format!(
        "coalesce(s.received_on, {})",
        vietnam_day(engine, "s.created_at")
    )
}

/// Dossiers received or returned in the period `?1`..`?2`, of agency `?3` (or any).
fn in_period(engine: Engine) -> String {
    format!(
        "({} BETWEEN ?1 AND ?2 OR s.returned_on BETWEEN ?1 AND ?2) \
         AND (CAST(?3 AS TEXT) IS NULL OR s.agency = ?3)",
        received(engine)
    )
}

/// Computes the indicators of `query`, one row per group, groups sorted.
pub fn indicators(
    conn: &mut dyn Sql,
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
    let args = args![query.from, query.to, query.agency];
    let mut kinds = Interner::default();
    let required = required_kinds(conn, &mut kinds)?;
    let mut period = Period::load(conn, args)?;
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
    for (day, agency, procedure) in certified_copies(conn, args)? {
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
    conn: &mut dyn Sql,
    kinds: &mut Interner,
) -> Result<HashMap<String, Vec<u32>>, StoreError> {
    let mut map: HashMap<String, Vec<u32>> = conn
        .query_map("SELECT code FROM procedures", args![], |r| {
            r.get::<String>(0)
        })?
        .into_iter()
        .map(|code| (code, Vec::new()))
        .collect();
    conn.each(
        "SELECT procedure_code, kind FROM procedure_items WHERE role = 'component' AND required <> 0",
        args![],
        &mut |r| {
            let procedure = r.text(0)?;
            let kind = kinds.id(r.text(1)?);
            map.entry(procedure.to_string()).or_default().push(kind);
            Ok(())
        },
    )?;
    Ok(map)
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
    fn load(conn: &mut dyn Sql, args: &[&dyn ToValue]) -> Result<Period, StoreError> {
        let engine = conn.engine();
        let sql = format!(
            "SELECT s.code, s.procedure_code, s.agency, {}, s.returned_on
             FROM dossiers s WHERE {}",
            received(engine),
            in_period(engine)
        );
        let mut period = Period {
            dossiers: Vec::new(),
            at: HashMap::new(),
            names: Interner::default(),
        };
        conn.each(&sql, args, &mut |r| {
            let dossier = PeriodDossier {
                procedure: period.names.id(r.text(1)?),
                agency: period.names.id(r.text(2)?),
                received: r.get(3)?,
                returned: r.get(4)?,
                kinds: Vec::new(),
                has_result: false,
                reuses: false,
            };
            period.at.insert(r.get(0)?, period.dossiers.len());
            period.dossiers.push(dossier);
            Ok(())
        })?;
        Ok(period)
    }

    /// Each dossier's own documents: component kinds, and whether a result is stored.
    /// One sequential pass over the documents, matched by dossier code here: SQLite would
    /// otherwise search the dossier (or its documents) once per row, several times slower.
    fn add_documents(
        &mut self,
        conn: &mut dyn Sql,
        kinds: &mut Interner,
    ) -> Result<(), StoreError> {
        let sql = "SELECT dossier_code, role = 'result', kind FROM documents";
        conn.each(sql, args![], &mut |r| {
            let Some(&i) = self.at.get(r.text(0)?) else {
                return Ok(());
            };
            if r.get::<bool>(1)? {
                self.dossiers[i].has_result = true;
            } else {
                let kind = kinds.id(r.text(2)?);
                self.dossiers[i].kinds.push(kind);
            }
            Ok(())
        })
    }

    /// Documents attached from other dossiers: reuse, and the kinds they supply.
    fn add_links(&mut self, conn: &mut dyn Sql, kinds: &mut Interner) -> Result<(), StoreError> {
        let sql = "SELECT l.dossier_code, d.kind FROM dossier_links l \
                   JOIN documents d ON d.id = l.document_id";
        conn.each(sql, args![], &mut |r| {
            let Some(&i) = self.at.get(r.text(0)?) else {
                return Ok(());
            };
            let kind = kinds.id(r.text(1)?);
            self.dossiers[i].reuses = true;
            self.dossiers[i].kinds.push(kind);
            Ok(())
        })
    }
}

/// (day stored, agency, procedure) of the certified copies stored in the period.
fn certified_copies(
    conn: &mut dyn Sql,
    args: &[&dyn ToValue],
) -> Result<Vec<(String, String, String)>, StoreError> {
    let day = vietnam_day(conn.engine(), "d.created_at");
    let sql = format!(
        "SELECT {day}, s.agency, s.procedure_code
         FROM documents d JOIN dossiers s ON s.code = d.dossier_code
         WHERE d.reference IS NOT NULL AND {day} BETWEEN ?1 AND ?2
             AND (CAST(?3 AS TEXT) IS NULL OR s.agency = ?3)"
    );
    conn.query_map(&sql, args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
}
