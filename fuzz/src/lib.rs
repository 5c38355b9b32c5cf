//! libFuzzer targets for sohoa. The target bodies live in [`targets`] (one plain source
//! file, also compiled by the main crate's `tests/it/fuzz_smoke.rs`); each
//! `fuzz_targets/NAME.rs` only hands libFuzzer's input to `targets::NAME`.

pub mod targets;

/// How [`targets`] sends a request to the router: in process, with tower's `oneshot`.
pub mod shim {
    use axum::body::Body;
    use axum::http::Request;
    use axum::Router;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use crate::targets::Answer;

    /// Runs `request` through `app` on `rt` and collects the whole answer.
    pub fn call(rt: &tokio::runtime::Runtime, app: &Router, request: Request<Body>) -> Answer {
        rt.block_on(async {
            let response = app
                .clone()
                .oneshot(request)
                .await
                .unwrap_or_else(|never| match never {});
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .expect("reading the answer's body")
                .to_bytes()
                .to_vec();
            Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            }
        })
    }
}
