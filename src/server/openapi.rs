//! The OpenAPI 3.0 description served at `/openapi.json`.

use serde_json::{json, Value};

fn param(name: &str, place: &str, required: bool, description: &str) -> Value {
    json!({ "name": name, "in": place, "required": required,
            "description": description, "schema": { "type": "string" } })
}

fn purpose() -> Value {
    param(
        "purpose",
        "query",
        false,
        "Purpose of the access, recorded in the audit log. Required for personal-data \
         reads, here or in the X-Purpose header (UTF-8).",
    )
}

fn purpose_header() -> Value {
    param(
        "X-Purpose",
        "header",
        false,
        "Purpose of the access (alternative to ?purpose=).",
    )
}

fn errors(codes: &[&str]) -> Value {
    let mut out = serde_json::Map::new();
    for code in codes {
        let text = match *code {
            "400" => "Malformed request (bad parameter, missing purpose, bad body).",
            "401" => "Missing, malformed, unknown or revoked API key.",
            "403" => "The key may not do this. For a single document also when it does not exist (unless the key has read:*), so nothing is revealed.",
            "404" => "Not found (for single documents only with a read:* key).",
            "413" => "The body is larger than the server's limit (--max-body-mb).",
            "415" => "Unsupported Content-Type.",
            _ => "Error.",
        };
        out.insert(code.to_string(), json!({ "description": text,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
    }
    Value::Object(out)
}

fn with_errors(ok: Value, codes: &[&str]) -> Value {
    let mut responses = errors(codes);
    if let (Value::Object(map), Value::Object(ok)) = (&mut responses, ok) {
        map.extend(ok);
    }
    responses
}

fn documents_array() -> Value {
    json!({ "application/json": { "schema": { "type": "array",
        "items": { "$ref": "#/components/schemas/Document" } } } })
}

fn paths() -> Value {
    json!({
        "/healthz": { "get": { "summary": "Liveness", "security": [],
            "responses": { "200": { "description": "Running" } } } },
        "/readyz": { "get": { "summary": "Readiness: the index and the blob storage answer", "security": [],
            "responses": { "200": { "description": "Ready" },
                           "503": { "description": "The index or the blob storage is unreachable" } } } },
        "/openapi.json": { "get": { "summary": "This document", "security": [],
            "responses": { "200": { "description": "OpenAPI 3.0 document" } } } },
        "/api/v1/documents": {
            "get": {
                "summary": "Look documents up by exactly one key: citizen_id (optionally with kind), dossier_code, sha256 or reference. Documents outside the key's scopes are left out silently.",
                "parameters": [
                    param("citizen_id", "query", false, "12-digit personal ID (số định danh cá nhân)"),
                    param("kind", "query", false, "Document kind; only with citizen_id"),
                    param("dossier_code", "query", false, "Dossier code"),
                    param("sha256", "query", false, "SHA-256 (hex) of a stored file"),
                    param("reference", "query", false, "Verification reference (QR content) of a certified copy"),
                    purpose(), purpose_header()
                ],
                "responses": with_errors(json!({ "200": { "description": "Current documents", "content": documents_array() } }), &["400", "401", "403"])
            },
            "post": {
                "summary": "Store a document (key with the write scope). Either the PDF as the body (Content-Type application/pdf) with the metadata as query parameters, or Content-Type application/json with {\"metadata\": IngestMetadata, \"pdf_base64\": \"...\"}. The agency is the key's agency; a signed PDF is stored as a certified copy.",
                "parameters": [
                    param("dossier_code", "query", false, "Dossier code (required with a PDF body)"),
                    param("procedure_code", "query", false, "Procedure code, mã TTHC (required with a PDF body)"),
                    param("citizen_id", "query", false, "12-digit personal ID (required with a PDF body)"),
                    param("kind", "query", false, "Document kind (required with a PDF body)"),
                    param("title", "query", false, "Title (required with a PDF body)"),
                    param("role", "query", false, "component (default) or result"),
                    param("valid_until", "query", false, "End of validity, YYYY-MM-DD"),
                    param("supersedes", "query", false, "Id of the document this one corrects"),
                    param("file_name", "query", false, "Download name (default document.pdf)"),
                    param("reference", "query", false, "Verification reference of a certified copy"),
                    purpose()
                ],
                "requestBody": { "required": true, "content": {
                    "application/pdf": { "schema": { "type": "string", "format": "binary" } },
                    "application/json": { "schema": { "$ref": "#/components/schemas/IngestRequest" } } } },
                "responses": with_errors(json!({ "201": { "description": "Stored",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Document" } } } } }),
                    &["400", "401", "403", "413", "415"])
            }
        },
        "/api/v1/documents/{id}": { "get": {
            "summary": "Metadata of one document (current or superseded)",
            "parameters": [param("id", "path", true, "Document id"), purpose(), purpose_header()],
            "responses": with_errors(json!({ "200": { "description": "The document",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Document" } } } } }),
                &["400", "401", "403", "404"]) } },
        "/api/v1/documents/{id}/file": { "get": {
            "summary": "The document's main file: the certified copy when there is one, else the PDF/A",
            "parameters": [param("id", "path", true, "Document id"), purpose(), purpose_header()],
            "responses": with_errors(json!({ "200": { "description": "The file (Content-Disposition names it)",
                "content": { "application/pdf": { "schema": { "type": "string", "format": "binary" } } } } }),
                &["400", "401", "403", "404"]) } },
        "/api/v1/documents/{id}/files/{sha256}": { "get": {
            "summary": "Any file of the document, by its SHA-256",
            "parameters": [param("id", "path", true, "Document id"), param("sha256", "path", true, "SHA-256 of the file"), purpose(), purpose_header()],
            "responses": with_errors(json!({ "200": { "description": "The file",
                "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } } }),
                &["400", "401", "403", "404"]) } },
        "/api/v1/search": { "get": {
            "summary": "Full-text search over OCR text and metadata, insensitive to case and Vietnamese diacritics (đ = d), with filters. Give q or at least one filter.",
            "parameters": [
                param("q", "query", false, "Text"),
                param("citizen_id", "query", false, "12-digit personal ID"),
                param("kind", "query", false, "Kind"),
                param("procedure", "query", false, "Procedure code"),
                param("dossier_code", "query", false, "Dossier code"),
                param("agency", "query", false, "Agency code"),
                param("from", "query", false, "Stored on or after, YYYY-MM-DD"),
                param("to", "query", false, "Stored on or before, YYYY-MM-DD"),
                param("limit", "query", false, "At most this many (1-1000, default 100), counted before scope filtering"),
                purpose(), purpose_header()
            ],
            "responses": with_errors(json!({ "200": { "description": "Matching current documents", "content": documents_array() } }), &["400", "401", "403"]) } },
        "/api/v1/reuse": { "get": {
            "summary": "What the person already has on file for each component of a catalogue procedure, among the documents the key may read: status available | expired | missing, and the candidates (current, not past valid_until, within the catalogue's valid_days, stored on or before `at`), certified copies first, then the newest.",
            "parameters": [
                param("citizen_id", "query", true, "12-digit personal ID"),
                param("procedure", "query", true, "Procedure code of the catalogue"),
                param("at", "query", false, "Day the documents must be usable on, YYYY-MM-DD (default: today in Vietnam)"),
                purpose(), purpose_header()
            ],
            "responses": with_errors(json!({ "200": { "description": "One entry per component",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/OnFile" } } } } }), &["400", "401", "403", "404"])
        } },
        "/api/v1/dossiers/{code}/documents": { "post": {
            "summary": "Reuse a stored document in a dossier of the key's agency (write scope and read access to the document). The dossier is created when new (give procedure_code). Refused (400) for another person's document, a superseded or expired one, or another agency's dossier.",
            "parameters": [ param("code", "path", true, "Dossier code") ],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object", "required": ["document_id"], "properties": {
                    "document_id": { "type": "string" },
                    "procedure_code": { "type": "string", "description": "Procedure of a new dossier" },
                    "purpose": { "type": "string", "description": "Recorded in the audit log (default reuse)" } } } } } },
            "responses": with_errors(json!({ "200": { "description": "Attached: {dossier_code, document_id, attached: true}" } }), &["400", "401", "403", "404"])
        } },
        "/api/v1/verify": { "post": {
            "summary": "Verify the signatures of a PDF, as `sohoa verify` does, and say whether this exact file is stored. in_store covers the whole store (the caller holds the file); document_id(s) list only documents the key may read. Purpose optional (default \"verify\"); always audited.",
            "parameters": [purpose(), purpose_header()],
            "requestBody": { "required": true, "content": { "application/pdf": { "schema": { "type": "string", "format": "binary" } } } },
            "responses": with_errors(json!({ "200": { "description": "Verification report",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/VerifyResult" } } } } }),
                &["400", "401", "413"]) } }
    })
}

fn schemas() -> Value {
    let s = json!({ "type": "string" });
    let ns = json!({ "type": "string", "nullable": true });
    json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": s } },
        "StoredFile": { "type": "object", "properties": {
            "role": { "type": "string", "enum": ["pdf", "certified", "renewed", "original", "text", "report"] },
            "sha256": s, "size": { "type": "integer" }, "name": s } },
        "OnFile": { "type": "object", "properties": {
            "procedure": { "type": "string" }, "procedure_name": { "type": "string" },
            "citizen_id": { "type": "string" }, "at": { "type": "string", "format": "date" },
            "components": { "type": "array", "items": { "type": "object", "properties": {
                "kind": { "type": "string" }, "name": { "type": "string" },
                "required": { "type": "boolean" }, "valid_days": { "type": "integer" },
                "status": { "type": "string", "enum": ["available", "expired", "missing"] },
                "candidates": { "type": "array", "items": { "$ref": "#/components/schemas/Candidate" } },
                "expired": { "type": "array", "items": { "$ref": "#/components/schemas/Candidate" } } } } } } },
        "Candidate": { "type": "object", "properties": {
            "id": { "type": "string" }, "title": { "type": "string" }, "kind": { "type": "string" },
            "role": { "type": "string", "enum": ["component", "result"] }, "agency": { "type": "string" },
            "dossier_code": { "type": "string" }, "stored_on": { "type": "string", "format": "date" },
            "valid_until": { "type": "string", "format": "date" }, "certified": { "type": "boolean" },
            "reference": { "type": "string" } } },
        "Document": { "type": "object", "properties": {
            "id": s, "sha256": s, "kind": s, "title": s,
            "role": { "type": "string", "enum": ["component", "result"] },
            "dossier_code": s, "procedure_code": s, "citizen_id": s, "agency": s,
            "page_count": { "type": "integer" }, "created_by": s, "created_at": s,
            "valid_until": ns, "supersedes": ns, "superseded_by": ns, "reference": ns,
            "files": { "type": "array", "items": { "$ref": "#/components/schemas/StoredFile" } } } },
        "IngestMetadata": { "type": "object",
            "required": ["dossier_code", "procedure_code", "citizen_id", "kind", "title"],
            "properties": { "dossier_code": s, "procedure_code": s, "citizen_id": s, "kind": s,
                "title": s, "role": { "type": "string", "enum": ["component", "result"] },
                "valid_until": s, "supersedes": s, "file_name": s, "reference": s, "purpose": s } },
        "IngestRequest": { "type": "object", "required": ["metadata", "pdf_base64"], "properties": {
            "metadata": { "$ref": "#/components/schemas/IngestMetadata" },
            "pdf_base64": { "type": "string", "format": "byte" } } },
        "VerifyResult": { "type": "object", "required": ["valid", "in_store"], "properties": {
            "valid": { "type": "boolean" }, "in_store": { "type": "boolean" }, "sha256": s,
            "document_id": ns, "document_ids": { "type": "array", "items": s },
            "signatures": { "type": "array", "items": { "type": "object" } },
            "message_vi": s, "message_en": s } }
    })
}

/// The whole document.
pub fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "sohoa reuse lookup service",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Lookups, downloads, verification and ingest of digitized dossier documents and certified copies. Every call but /healthz, /readyz and /openapi.json needs Authorization: Bearer KEY. Keys carry scopes: read:* (every document), read:KIND, read:procedure:CODE, write (ingest). Reads of personal data need a purpose and are recorded in a hash-chained audit log before the answer is sent. A single document outside the key's scopes answers 403 whether or not it exists (404 only for read:* keys); lists leave such documents out. Errors are JSON {\"error\": \"...\"}."
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas()
        },
        "security": [{ "bearer": [] }],
        "paths": paths()
    })
}
