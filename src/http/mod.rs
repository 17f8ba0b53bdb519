//! HTTP for every provider call: the client (limits, redirects, exchange
//! recording) and the one redactor that keeps secrets out of everything recorded.

mod client;
mod origin;
mod recorder;
mod redact;

pub use client::{Auth, ClientConfig, HttpClient, HttpError, JsonError, Request, Response};
pub use recorder::ExchangeRecorder;
pub use redact::{REDACTED, RedactError, Redactor};
