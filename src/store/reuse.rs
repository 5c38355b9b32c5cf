//! The reuse finder: for a person and a procedure, which of the procedure's components
//! are already on file and still usable, so the clerk attaches them instead of asking the
//! citizen for (and certifying) another paper copy.
//!
//! A stored document is offered for a component when it is of the component's kind,
//! belongs to the person, is current (not superseded), was stored on or before the day
//! asked about, is not past its own `valid_until`, and is within the catalogue's
//! `valid_days` of the day it was stored. Days are Vietnamese calendar days.

use serde::Serialize;
use time::Date;

use super::catalog::{Procedure, Requirement};
use super::{Document, Role};
use crate::calendar::{add_days, local_date, parse_day};

/// What the person has on file for each component of a procedure.
#[derive(Debug, Clone, Serialize)]
pub struct OnFile {
    /// Procedure code.
    pub procedure: String,
    /// Procedure name.
    pub procedure_name: String,
    /// Personal ID.
    pub citizen_id: String,
    /// The day the documents must be usable on (`YYYY-MM-DD`).
    pub at: String,
    /// One entry per component, in catalogue order.
    pub components: Vec<Component>,
}

/// One component of the procedure and the documents that satisfy it.
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    /// Document kind.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Whether the procedure requires it.
    pub required: bool,
    /// How long a document of this kind stays usable for the procedure, in days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_days: Option<u32>,
    /// `available`, `expired` (only out-of-date documents are on file) or `missing`.
    pub status: Status,
    /// Usable documents, best first: certified copies, then the newest.
    pub candidates: Vec<Candidate>,
    /// Documents of the kind that are out of date on `at`, newest first (shown, never
    /// offered).
    pub expired: Vec<Candidate>,
}

/// Whether a component is on file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// At least one usable document.
    Available,
    /// Documents of the kind, none usable any more.
    Expired,
    /// No document of the kind.
    Missing,
}

/// A stored document offered for a component.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// Document id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: String,
    /// Component of a dossier or result of a procedure.
    pub role: Role,
    /// Agency that stored it.
    pub agency: String,
    /// Its own dossier.
    pub dossier_code: String,
    /// Day it was stored (`YYYY-MM-DD`).
    pub stored_on: String,
    /// Last day it is usable for this procedure: the earlier of its own `valid_until`
    /// and stored + `valid_days`; none when neither limits it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// Whether it is an electronic certified copy.
    pub certified: bool,
    /// Verification reference of the certified copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl OnFile {
    /// Ids of every document the answer shows, candidates and out-of-date ones (for the
    /// audit log).
    pub fn shown_ids(&self) -> Vec<String> {
        self.components
            .iter()
            .flat_map(|c| c.candidates.iter().chain(&c.expired))
            .map(|d| d.id.clone())
            .collect()
    }
}

/// Sorts the person's current `documents` into the components of `procedure` as they
/// stand on day `at`.
pub fn on_file(
    procedure: &Procedure,
    citizen_id: &str,
    at: Date,
    documents: &[Document],
) -> OnFile {
    let components = procedure
        .components
        .iter()
        .map(|requirement| component(requirement, at, documents))
        .collect();
    OnFile {
        procedure: procedure.code.clone(),
        procedure_name: procedure.name.clone(),
        citizen_id: citizen_id.to_string(),
        at: at.to_string(),
        components,
    }
}

fn component(requirement: &Requirement, at: Date, documents: &[Document]) -> Component {
    let mut candidates = Vec::new();
    let mut expired = Vec::new();
    for doc in documents
        .iter()
        .filter(|d| d.kind == requirement.kind && d.superseded_by.is_none())
    {
        let Some(stored) = local_date(&doc.created_at).and_then(|d| parse_day(&d)) else {
            continue;
        };
        if stored > at {
            continue;
        }
        let by_catalogue = requirement
            .valid_days
            .map(|days| add_days(stored, i64::from(days)));
        let own = doc.valid_until.as_deref().and_then(parse_day);
        let until = match (own, by_catalogue) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let candidate = Candidate {
            id: doc.id.clone(),
            title: doc.title.clone(),
            kind: doc.kind.clone(),
            role: doc.role,
            agency: doc.agency.clone(),
            dossier_code: doc.dossier_code.clone(),
            stored_on: stored.to_string(),
            valid_until: until.map(|d| d.to_string()),
            certified: doc.reference.is_some(),
            reference: doc.reference.clone(),
        };
        if until.is_some_and(|until| until < at) {
            expired.push(candidate);
        } else {
            candidates.push(candidate);
        }
    }
    // Certified first, then the newest (days sort as text; ids break ties stably).
    candidates.sort_by(|a, b| {
        (b.certified, &b.stored_on, &b.id).cmp(&(a.certified, &a.stored_on, &a.id))
    });
    expired.sort_by(|a, b| (&b.stored_on, &b.id).cmp(&(&a.stored_on, &a.id)));
    let status = if !candidates.is_empty() {
        Status::Available
    } else if !expired.is_empty() {
        Status::Expired
    } else {
        Status::Missing
    };
    Component {
        kind: requirement.kind.clone(),
        name: requirement.name.clone(),
        required: requirement.required,
        valid_days: requirement.valid_days,
        status,
        candidates,
        expired,
    }
}
