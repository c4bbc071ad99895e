//! The response body, in GraphStorm's shape: `status_code`, `request_uid`, `message`, `error`
//! and `data.results`, one result per target keyed like the target, with its `prediction`.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::codes::{RequestError, StatusCode};

/// A response body.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    pub status_code: u16,
    pub request_uid: String,
    pub message: String,
    pub error: String,
    pub data: ResponseData,
}

/// `data`: the results, empty unless the status is 200.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResponseData {
    pub results: Vec<Value>,
}

/// GraphStorm's request id: the last 16 hex digits of the body's SHA-256.
pub fn request_uid(body: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(body));
    digest[digest.len() - 16..].to_string()
}

impl Response {
    /// 200 with `results`; `message` says what the server did (the unseen-node policy used).
    pub fn success(body: &[u8], results: Vec<Value>, message: String) -> Self {
        Self {
            status_code: StatusCode::Ok.code(),
            request_uid: request_uid(body),
            message,
            error: String::new(),
            data: ResponseData { results },
        }
    }

    /// The error's code and message, no results.
    pub fn failure(body: &[u8], error: &RequestError) -> Self {
        Self {
            status_code: error.status.code(),
            request_uid: request_uid(body),
            message: String::new(),
            error: error.message.clone(),
            data: ResponseData::default(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a response serialises")
    }
}
