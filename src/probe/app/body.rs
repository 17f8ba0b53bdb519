//! The app observation body: the client's liveness and the evidence it rests on. Its serde form
//! is the snapshot JSON, fields in name order.

use super::Liveness;
use crate::baseline::emit::Emitter;
use crate::probe::body::ObservationBody;
use crate::rules::Rule;
use serde::{Deserialize, Serialize};

/// What the liveness request showed about the suite's client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppBody {
    pub client: Liveness,
    /// The `error` code of the answer, if any (a fixed vocabulary, never a description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The answer carried `WWW-Authenticate` (its value is not kept).
    pub www_authenticate: bool,
}

impl ObservationBody for AppBody {
    const NAME: &'static str = "app";
    const UNREADABLE: Rule = Rule::AppObservationUnreadable;

    fn diff(em: &mut Emitter<'_>, before: &Self, after: &Self) {
        super::diff::diff_app(em, before, after);
    }
}
