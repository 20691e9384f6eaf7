//! TAXII error messages (the `error` resource of TAXII 2.1 section 3.6.1): every failure the
//! server answers, with the HTTP status the specification gives it and, for a limit, which
//! limit and its value.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::media::TAXII_MEDIA_TYPE;

/// One failed request, as the client will see it.
#[derive(Debug)]
pub(crate) struct TaxiiError {
    status: StatusCode,
    title: &'static str,
    description: String,
    details: Option<Value>,
    retry_after_seconds: Option<u64>,
}

impl TaxiiError {
    fn new(status: StatusCode, title: &'static str, description: impl Into<String>) -> TaxiiError {
        TaxiiError {
            status,
            title,
            description: description.into(),
            details: None,
            retry_after_seconds: None,
        }
    }

    pub(crate) fn bad_request(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(StatusCode::BAD_REQUEST, "Bad request", description)
    }

    pub(crate) fn unauthorized(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", description)
    }

    pub(crate) fn forbidden(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(StatusCode::FORBIDDEN, "Forbidden", description)
    }

    pub(crate) fn not_found(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(StatusCode::NOT_FOUND, "Not found", description)
    }

    pub(crate) fn method_not_allowed(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            description,
        )
    }

    pub(crate) fn not_acceptable(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(StatusCode::NOT_ACCEPTABLE, "Not acceptable", description)
    }

    pub(crate) fn unsupported_media_type(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            description,
        )
    }

    /// A request over one of the server's limits: 413 for bodies, 414 for URLs.
    pub(crate) fn over_limit(
        status: StatusCode,
        limit: &'static str,
        value: u64,
        description: impl Into<String>,
    ) -> TaxiiError {
        let title = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "Request entity too large",
            StatusCode::URI_TOO_LONG => "URI too long",
            _ => "Limit exceeded",
        };
        let mut error = TaxiiError::new(status, title, description);
        error.details = Some(json!({ "limit": limit, "value": value }));
        error
    }

    pub(crate) fn too_many_requests(
        limit: &'static str,
        value: f64,
        retry_after_seconds: u64,
    ) -> TaxiiError {
        let mut error = TaxiiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            format!(
                "this caller is over {limit} ({value} requests a second); retry after {retry_after_seconds} s"
            ),
        );
        error.details = Some(json!({ "limit": limit, "value": value }));
        error.retry_after_seconds = Some(retry_after_seconds);
        error
    }

    pub(crate) fn unavailable(
        limit: &'static str,
        value: u64,
        description: impl Into<String>,
    ) -> TaxiiError {
        let mut error = TaxiiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            description,
        );
        error.details = Some(json!({ "limit": limit, "value": value }));
        error.retry_after_seconds = Some(1);
        error
    }

    /// A failure of the node itself. The description is logged in full; the client learns
    /// only that something went wrong, and when.
    pub(crate) fn internal(description: impl Into<String>) -> TaxiiError {
        let description = description.into();
        crate::log(&format!("internal error: {description}"));
        TaxiiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "the node failed to answer; its operator can find why in the server's log",
        )
    }

    /// The error as one line, for a log or a command's message.
    pub(crate) fn message(&self) -> String {
        format!("{}: {}", self.title, self.description)
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<store::StoreError> for TaxiiError {
    fn from(e: store::StoreError) -> TaxiiError {
        TaxiiError::internal(e.to_string())
    }
}

impl From<store::query::QueryError> for TaxiiError {
    fn from(e: store::query::QueryError) -> TaxiiError {
        match e {
            store::query::QueryError::Selection(e) => TaxiiError::bad_request(e.to_string()),
            store::query::QueryError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "title": self.title,
            "description": self.description,
            "http_status": self.status.as_u16().to_string(),
        });
        if let Some(details) = self.details {
            body["details"] = details;
        }
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(TAXII_MEDIA_TYPE),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tessera\""),
            );
        }
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
