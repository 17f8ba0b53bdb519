//! HTTP for every provider call: the client (limits, rate, retries, redirects,
//! exchange recording) and the one redactor that keeps secrets out of everything recorded.

mod client;
mod origin;
pub(crate) use origin::is_loopback;
mod rate;
mod recorder;
mod redact;
mod retry;

pub use client::{Auth, ClientConfig, HttpClient, HttpError, JsonError, Request, Response};
pub use rate::Rate;
pub use recorder::ExchangeRecorder;
pub use redact::{REDACTED, RedactError, Redactor};
