//! Handlers: parse and check the request, call the store, write the audit entry, answer.
//!
//! Access rules (see also the OpenAPI document):
//! - a document is readable by a key when one of its scopes allows it (`read:*`,
//!   `read:KIND`, `read:procedure:CODE`); lists and searches silently leave out the others;
//! - `GET /documents/{id}` (and its files) answers 403 both when the document is outside
//!   the key's scopes and when it does not exist, so a key learns nothing about documents
//!   it may not read; only a `read:*` key gets 404 for a missing document;
//! - a key with no read scope gets 403 on every lookup;
//! - personal-data reads need a purpose (`X-Purpose` header or `purpose` parameter) and
//!   are answered only after their audit entry is written (denied ones are logged too).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::errors::{ApiError, ApiResult};
use super::params::{self, IngestJson, IngestMeta, Lookup, PurposeOnly, Search};
use super::{ingest, AppState};
use crate::certify::verify::{verify_pdf, VerifyOptions};
use crate::store::{
    AuditEntry, CopyTrust, Document, Dossier, OnFile, Store, StoreError, StoredFile,
};
use crate::values::{self, DocumentId};

/// Who asks, why, and what, for the audit log: every API handler opens with it. Every
/// request of an authenticated caller is recorded, refused ones too (no read scope, no
/// purpose, bad parameters). Extracting it answers 401 without a good key.
pub struct Access {
    caller: Caller,
    /// The checked purpose (`X-Purpose` header or `purpose` parameter), or why it is
    /// missing or refused.
    purpose: ApiResult<String>,
    action: String,
}

/// The `purpose` parameter of any query, whatever else the query holds.
#[derive(serde::Deserialize)]
struct PurposeParameter {
    purpose: Option<String>,
}

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Access> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let given = Query::<PurposeParameter>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(q)| q.purpose);
        Ok(Access {
            caller,
            purpose: params::purpose(&parts.headers, given.as_deref()),
            action: action(&parts.method, &parts.uri),
        })
    }
}

impl Access {
    /// The checked purpose, or 400 when it is missing or refused.
    fn purpose(&self) -> ApiResult<()> {
        self.purpose.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// Uses `purpose` when the request gives none (or a refused one).
    fn or_purpose(mut self, purpose: &str) -> Self {
        if self.purpose.is_err() {
            self.purpose = Ok(purpose.to_string());
        }
        self
    }

    /// Writes the audit entry of a refused request and returns the refusal.
    async fn refuse(&self, state: &AppState, refusal: ApiError) -> ApiError {
        match self
            .record(state, Err::<(), _>(refusal), |_| Vec::new())
            .await
        {
            Err(e) => e,
            Ok(()) => ApiError::internal("a refusal was recorded as a success"),
        }
    }

    /// Writes the audit entry for `outcome`, then passes the outcome on.
    async fn record<T>(
        &self,
        state: &AppState,
        outcome: ApiResult<T>,
        ids: impl FnOnce(&T) -> Vec<String>,
    ) -> ApiResult<T> {
        let (action, returned) = match &outcome {
            Ok(value) => (self.action.clone(), ids(value)),
            Err(e) => (
                format!("{} -> {}", self.action, e.status.as_u16()),
                Vec::new(),
            ),
        };
        let entry = AuditEntry {
            agency: self.caller.0.agency.clone(),
            key_id: self.caller.0.id.clone(),
            purpose: self.purpose.as_ref().cloned().unwrap_or_default(),
            action,
            returned,
        };
        state.audit.record(entry).await?;
        outcome
    }
}

/// `METHOD /path?query` for the audit log, cut to about 2,000 bytes.
fn action(method: &Method, uri: &Uri) -> String {
    let target = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let mut action = format!("{method} {target}");
    if action.len() > 2000 {
        let mut end = 1997;
        while !action.is_char_boundary(end) {
            end -= 1;
        }
        action.truncate(end);
        action.push_str("...");
    }
    action
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::bad_request(format!("invalid query: {}", e.body_text())))
}

fn ids(docs: &[Document]) -> Vec<String> {
    docs.iter().map(|d| d.id.clone()).collect()
}

fn require_read(caller: &Caller) -> ApiResult<()> {
    if caller.reads_any() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this key has no read scope",
        ))
    }
}

/// `GET /healthz`.
pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when the index and the blob storage answer, else 503 (a load
/// balancer sends no traffic here until they are back).
pub async fn ready(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    state.run(|store| store.ready()).await?;
    Ok(Json(serde_json::json!({ "status": "ready" })))
}

/// `GET /openapi.json`.
pub async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

/// Unknown routes.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no such route: {}", uri.path()))
}

/// Known routes with the wrong method.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// `GET /api/v1/documents?citizen_id=..[&kind=..] | dossier_code= | sha256= | reference=`.
pub async fn list_documents(
    State(state): State<AppState>,
    access: Access,
    q: Result<Query<Lookup>, QueryRejection>,
) -> ApiResult<Json<Vec<Document>>> {
    let outcome = async {
        let q = query(q)?;
        access.purpose()?;
        require_read(&access.caller)?;
        let find = lookup(q)?;
        state.run(find).await.map(|docs| access.caller.filter(docs))
    }
    .await;
    access.record(&state, outcome, |d| ids(d)).await.map(Json)
}

type Find = Box<dyn FnOnce(&Store) -> Result<Vec<Document>, StoreError> + Send>;

/// The store call for a lookup, after checking that exactly one key is given.
fn lookup(q: Lookup) -> ApiResult<Find> {
    if q.kind.is_some() && q.citizen_id.is_none() {
        return Err(ApiError::bad_request("kind is only used with citizen_id"));
    }
    let find: Find = match (q.citizen_id, q.dossier_code, q.sha256, q.reference) {
        (Some(id), None, None, None) => {
            let kind = q.kind.map(|k| params::code("kind", &k)).transpose()?;
            Box::new(move |store| store.documents_by_citizen(&id, kind.as_deref()))
        }
        (None, Some(code), None, None) => {
            let code = params::code("dossier_code", &code)?;
            Box::new(move |store| store.documents_by_dossier(&code))
        }
        (None, None, Some(hash), None) => Box::new(move |store| store.documents_by_sha256(&hash)),
        (None, None, None, Some(reference)) => Box::new(move |store: &Store| {
            Ok(store
                .document_by_reference(&reference)?
                .into_iter()
                .collect())
        }),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of citizen_id, dossier_code, sha256, reference",
            ))
        }
    };
    Ok(find)
}

/// `GET /api/v1/search?q=..&citizen_id=..&kind=..&procedure=..&dossier_code=..&agency=..&from=..&to=..&limit=..`.
pub async fn search(
    State(state): State<AppState>,
    access: Access,
    q: Result<Query<Search>, QueryRejection>,
) -> ApiResult<Json<Vec<Document>>> {
    let outcome = async {
        let q = query(q)?;
        access.purpose()?;
        require_read(&access.caller)?;
        let search = params::search_query(&q)?;
        state
            .run(move |store| store.search(&search))
            .await
            .map(|docs| access.caller.filter(docs))
    }
    .await;
    access.record(&state, outcome, |d| ids(d)).await.map(Json)
}

/// `GET /api/v1/reuse?citizen_id=..&procedure=..[&at=YYYY-MM-DD]`: what the person has
/// on file for each component of the procedure, among the documents the key may read.
pub async fn reuse(
    State(state): State<AppState>,
    access: Access,
    q: Result<Query<params::Reuse>, QueryRejection>,
) -> ApiResult<Json<OnFile>> {
    let outcome = async {
        let q = query(q)?;
        access.purpose()?;
        require_read(&access.caller)?;
        let citizen = q.citizen_id;
        let procedure = params::code("procedure", &q.procedure)?;
        let at = q.at;
        let scopes = access.caller.0.clone();
        state
            .run(move |store| {
                let caller = Caller(scopes);
                store.reuse(&citizen, &procedure, at.as_deref(), |d| caller.can_read(d))
            })
            .await
    }
    .await;
    access
        .record(&state, outcome, OnFile::shown_ids)
        .await
        .map(Json)
}

/// `POST /api/v1/dossiers/{code}/documents` `{"document_id": …}`: reuses a stored document
/// in a dossier of the caller's agency (created when new, with `procedure_code`); the
/// person must be the same. Needs the write scope and read access to the document.
pub async fn attach(
    State(state): State<AppState>,
    access: Access,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<params::Attach>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let purpose = match &body {
        Ok(Json(b)) => b.purpose.clone(),
        Err(_) => None,
    };
    let access = access.or_purpose(purpose.as_deref().unwrap_or("reuse"));
    let outcome = async {
        let Path(code) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let code = params::code("dossier code", &code)?;
        let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
        if let Some(purpose) = &body.purpose {
            params::text("purpose", purpose)?;
        }
        if !access.caller.can_write() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this key has no write scope",
            ));
        }
        let id = String::from(body.document_id.clone());
        let doc = readable(&state, &access.caller, &id).await?;
        let agency = access.caller.0.agency.clone();
        let by = access.caller.0.id.clone();
        let procedure = body.procedure_code.clone();
        state
            .run(move |store| {
                let dossier = match store.dossier(&code)? {
                    Some(existing) if existing.agency != agency => {
                        return Err(StoreError::Invalid(format!(
                            "dossier {code} belongs to another agency"
                        )))
                    }
                    Some(existing) => existing,
                    None => Dossier {
                        code: code.clone(),
                        procedure_code: procedure.ok_or_else(|| {
                            StoreError::Invalid(format!(
                                "dossier {code} is new: give its procedure_code"
                            ))
                        })?,
                        citizen_id: doc.citizen_id.clone(),
                        agency,
                        received_on: None,
                        returned_on: None,
                    },
                };
                store.attach(&doc.id, &dossier, &by)?;
                Ok((doc.id, dossier.code))
            })
            .await
    }
    .await;
    let (id, code) = access
        .record(&state, outcome, |(id, _)| vec![id.clone()])
        .await?;
    Ok((
        StatusCode::OK,
        Json(serde_json::json!({ "dossier_code": code, "document_id": id, "attached": true })),
    ))
}

/// The document `id` if the caller may read it: 403 when it may not or (unless the key
/// reads everything) when there is no such document.
async fn readable(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Document> {
    let owned = id.to_string();
    match state.run(move |store| store.document(&owned)).await? {
        Some(doc) if caller.can_read(&doc) => Ok(doc),
        None if caller.reads_all() => Err(ApiError::not_found("no such document")),
        _ => Err(ApiError::forbidden()),
    }
}

/// The checked id of a single-document request.
fn document_id(path: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    let Path(id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(DocumentId::parse(&id)?.into())
}

/// `GET /api/v1/documents/{id}`.
pub async fn get_document(
    State(state): State<AppState>,
    access: Access,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<PurposeOnly>, QueryRejection>,
) -> ApiResult<Json<Document>> {
    let outcome = async {
        query(q)?;
        let id = document_id(path)?;
        access.purpose()?;
        readable(&state, &access.caller, &id).await
    }
    .await;
    access
        .record(&state, outcome, |d| vec![d.id.clone()])
        .await
        .map(Json)
}

/// `GET /api/v1/documents/{id}/file`: the main file (the certified copy when there is one).
pub async fn get_main_file(
    State(state): State<AppState>,
    access: Access,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<PurposeOnly>, QueryRejection>,
) -> ApiResult<Response> {
    let outcome = async {
        query(q)?;
        let id = document_id(path)?;
        access.purpose()?;
        let doc = readable(&state, &access.caller, &id).await?;
        let sha = doc.sha256.clone();
        file_of(doc, &sha)
    }
    .await;
    let (doc, file) = access
        .record(&state, outcome, |(d, _)| vec![d.id.clone()])
        .await?;
    download(&state, doc, file).await
}

/// `GET /api/v1/documents/{id}/files/{sha256}`: any file of the document.
pub async fn get_file(
    State(state): State<AppState>,
    access: Access,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<PurposeOnly>, QueryRejection>,
) -> ApiResult<Response> {
    let outcome = async {
        query(q)?;
        let Path((id, sha)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let sha = values::Sha256::parse(&sha)?;
        access.purpose()?;
        let id = document_id(Ok(Path(id)))?;
        let doc = readable(&state, &access.caller, &id).await?;
        file_of(doc, &sha)
    }
    .await;
    let (doc, file) = access
        .record(&state, outcome, |(d, _)| vec![d.id.clone()])
        .await?;
    download(&state, doc, file).await
}

fn file_of(doc: Document, sha: &str) -> ApiResult<(Document, StoredFile)> {
    let file = doc.files.iter().find(|f| f.sha256 == sha).cloned();
    match file {
        Some(file) => Ok((doc, file)),
        None => Err(ApiError::not_found(
            "the document has no file with this sha256",
        )),
    }
}

async fn download(state: &AppState, _doc: Document, file: StoredFile) -> ApiResult<Response> {
    let sha = file.sha256.clone();
    let bytes = state.run(move |store| store.read_blob(&sha)).await?;
    let content_type = match file.name.rsplit('.').next().map(str::to_ascii_lowercase) {
        Some(ext) if ext == "pdf" => "application/pdf",
        Some(ext) if ext == "txt" => "text/plain; charset=utf-8",
        Some(ext) if ext == "png" => "image/png",
        Some(ext) if ext == "jpg" || ext == "jpeg" => "image/jpeg",
        Some(ext) if ext == "tif" || ext == "tiff" => "image/tiff",
        _ => "application/octet-stream",
    };
    let headers = [
        (header::CONTENT_TYPE, content_type.to_string()),
        (
            header::CONTENT_DISPOSITION,
            disposition("attachment", &file.name),
        ),
        (header::ETAG, format!("\"{}\"", file.sha256)),
    ];
    Ok((headers, bytes).into_response())
}

/// `Content-Disposition` of a file download: `kind` (`attachment` or `inline`) with an
/// ASCII fallback name (Vietnamese marks dropped, `đ` → `d`) and the UTF-8 name
/// (RFC 6266 / 5987).
pub(crate) fn disposition(kind: &str, name: &str) -> String {
    let fallback: String = crate::store::strip_marks(name)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

fn body(b: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    let b = b.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    if b.is_empty() {
        return Err(ApiError::bad_request("empty request body"));
    }
    Ok(b)
}

/// `POST /api/v1/verify` with a PDF body: the verification report, plus `in_store`
/// (this exact file is stored: the caller holds its bytes, so this tells nothing new)
/// and `document_id` / `document_ids` (only documents the key may read).
pub async fn verify(
    State(state): State<AppState>,
    access: Access,
    q: Result<Query<PurposeOnly>, QueryRejection>,
    pdf: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let mut access = match query(q) {
        Ok(_) => access.or_purpose("verify"),
        Err(_) => Access {
            purpose: Ok("verify".into()),
            ..access
        },
    };
    let pdf = match body(pdf) {
        Ok(pdf) => pdf,
        Err(e) => return Err(access.refuse(&state, e).await),
    };
    let sha = hex::encode(Sha256::digest(&pdf));
    let anchors = state.trust.clone();
    let report = tokio::task::spawn_blocking(move || {
        verify_pdf(
            &pdf,
            &VerifyOptions {
                trust_anchors: anchors.to_vec(),
                at: None,
            },
        )
    });
    let sha_owned = sha.clone();
    let found = state
        .run(move |store| store.documents_by_sha256(&sha_owned))
        .await?;
    let report = report.await.map_err(ApiError::internal)?;
    let in_store = !found.is_empty();
    let readable = access.caller.filter(found);
    access.action = format!("{} sha256={sha}", access.action);
    access.record(&state, Ok(()), |_| ids(&readable)).await?;
    let mut json = serde_json::to_value(&report).map_err(ApiError::internal)?;
    json["in_store"] = in_store.into();
    json["sha256"] = sha.into();
    json["document_id"] = readable.first().map(|d| d.id.clone()).into();
    json["document_ids"] = ids(&readable).into();
    Ok(Json(json))
}

/// `POST /api/v1/documents` (key with `write`): the PDF as the body with the metadata in
/// the query (`Content-Type: application/pdf`), or JSON `{"metadata": {...},
/// "pdf_base64": "..."}` (`Content-Type: application/json`). 201 with the document.
pub async fn ingest(
    State(state): State<AppState>,
    access: Access,
    headers: HeaderMap,
    q: Result<Query<IngestMeta>, QueryRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    // The purpose of a store is in its metadata (default "ingest"), not a header.
    let mut access = Access {
        purpose: Ok("ingest".into()),
        ..access
    };
    if !access.caller.can_write() {
        let refusal = ApiError::new(
            StatusCode::FORBIDDEN,
            "this key may not store documents (no write scope)",
        );
        return Err(access.refuse(&state, refusal).await);
    }
    let prepared = async {
        let (meta, pdf) = ingest_input(&headers, q, body(raw)?)?;
        let purpose = meta.purpose.clone().unwrap_or_else(|| "ingest".into());
        let purpose = params::text("purpose", &purpose)?;
        let key = access.caller.0.clone();
        let trust = (state.trust.clone(), state.register_dir.clone());
        let prepared = tokio::task::spawn_blocking(move || {
            let trust = CopyTrust {
                anchors: &trust.0,
                register: trust.1.as_deref().map(|p| p.as_path()),
            };
            ingest::prepare(&key, meta, pdf, &trust)
        })
        .await
        .map_err(ApiError::internal)??;
        Ok((purpose, prepared))
    }
    .await;
    let prepared = match prepared {
        Ok((purpose, prepared)) => {
            access.purpose = Ok(purpose);
            prepared
        }
        Err(e) => return Err(access.refuse(&state, e).await),
    };
    let superseded = prepared.new.supersedes.clone().map(String::from);
    if let Some(old) = &superseded {
        access.action = format!("{} supersedes={old}", access.action);
    }
    let outcome = state.run(move |store| store.ingest(&prepared)).await;
    let doc = access
        .record(&state, outcome, |d| {
            std::iter::once(d.id.clone())
                .chain(superseded.clone())
                .collect()
        })
        .await?;
    let location = format!("/api/v1/documents/{}", doc.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(doc),
    )
        .into_response())
}

fn ingest_input(
    headers: &HeaderMap,
    q: Result<Query<IngestMeta>, QueryRejection>,
    body: Bytes,
) -> ApiResult<(IngestMeta, Vec<u8>)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/pdf" | "application/octet-stream" => Ok((query(q)?, body.to_vec())),
        "application/json" => {
            let json: IngestJson = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))?;
            let pdf = base64::engine::general_purpose::STANDARD
                .decode(json.pdf_base64.trim())
                .map_err(|e| ApiError::bad_request(format!("pdf_base64: {e}")))?;
            Ok((json.metadata, pdf))
        }
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/pdf (metadata in the query) or application/json",
        )),
    }
}
