//! GraphStorm's real-time status codes (`realtime_http_response.py`) and the error a request
//! gets: a code and a message naming the field.

/// The `status_code` of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCode {
    /// 200: predictions in `data.results`.
    Ok,
    /// 400: the body is not JSON, not an object, not `application/json`, or of an unknown
    /// `version`.
    BadRequest,
    /// 401: a required field is missing (`version`, `gml_task`, `graph`, `targets`, ...).
    MissingField,
    /// 402: a field is present but holds no value (null, or an empty list of targets).
    MissingValue,
    /// 403: a type the model does not know (a target's, a node's or an edge's).
    UnknownType,
    /// 404: a target not in `graph.nodes`, or a feature the model needs missing.
    NotFound,
    /// 411: the payload cannot become a graph: an edge to a node not in `graph.nodes`, a
    /// feature of the wrong type or length, a value that is NaN or infinite.
    GraphConstruction,
    /// 421: the payload's `gml_task` is not the model's task.
    TaskMismatch,
    /// 500: the model failed (a plugin that trapped), or answered NaN.
    Internal,
}

impl StatusCode {
    /// The number GraphStorm uses.
    pub fn code(self) -> u16 {
        match self {
            StatusCode::Ok => 200,
            StatusCode::BadRequest => 400,
            StatusCode::MissingField => 401,
            StatusCode::MissingValue => 402,
            StatusCode::UnknownType => 403,
            StatusCode::NotFound => 404,
            StatusCode::GraphConstruction => 411,
            StatusCode::TaskMismatch => 421,
            StatusCode::Internal => 500,
        }
    }

    /// Every code, for documentation and tests.
    pub const ALL: [StatusCode; 9] = [
        StatusCode::Ok,
        StatusCode::BadRequest,
        StatusCode::MissingField,
        StatusCode::MissingValue,
        StatusCode::UnknownType,
        StatusCode::NotFound,
        StatusCode::GraphConstruction,
        StatusCode::TaskMismatch,
        StatusCode::Internal,
    ];
}

/// Why a request got no predictions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    pub status: StatusCode,
    pub message: String,
}

impl RequestError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 401: `field` is missing.
    pub(crate) fn missing(field: &str) -> Self {
        Self::new(
            StatusCode::MissingField,
            format!(
                "Missing Required Field: the payload has no `{field}`; see the gs-realtime-v0.1 \
                 payload format"
            ),
        )
    }

    /// 411 with GraphStorm's sub-code (`INVALID_FEATURE_TYPE`, `MISMATCHED_FEATURE_ERROR`, ...).
    pub(crate) fn construction(sub_code: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::GraphConstruction,
            format!("Graph Construction Failure ({sub_code}): {detail}"),
        )
    }
}
