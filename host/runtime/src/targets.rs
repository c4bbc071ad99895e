//! The batch's decode targets at the WIT boundary: the plain types live in gs-batch.

use gs_batch::EdgeTypeName;

use crate::bindings::graph::EdgeType;

impl From<EdgeTypeName> for EdgeType {
    fn from(e: EdgeTypeName) -> Self {
        EdgeType {
            src: e.src,
            rel: e.rel,
            dst: e.dst,
        }
    }
}
