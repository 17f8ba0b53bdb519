//! A token-endpoint answer as the token manager received it. The manager records answers and
//! the run hands them to the token probe (`probe::token::analyse_answer`), so obtaining tokens
//! and judging how the endpoint answers stay apart (`auth` never calls into a probe's analysis).

use bytes::Bytes;
use secrecy::SecretString;

/// The grant name the token probe's one deliberate error request is recorded under.
pub const ERROR_PROBE_GRANT: &str = "refresh_token (invalid, probe)";

/// One answer of the token endpoint. It holds secrets (the body carries the tokens issued and
/// the request's refresh token is kept to tell rotation), so it is never serialised and its
/// `Debug` shows neither.
pub struct TokenAnswer {
    /// `authorization_code`, `refresh_token`, `client_credentials`, `device_code`, … or
    /// [`ERROR_PROBE_GRANT`].
    pub grant: String,
    /// The scopes the request asked for (`scope=`), if any.
    pub requested_scopes: Vec<String>,
    /// The refresh token the request sent (a refresh), to tell whether the answer rotated it.
    pub previous_refresh_token: Option<SecretString>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAnswer")
            .field("grant", &self.grant)
            .field("requested_scopes", &self.requested_scopes)
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}
