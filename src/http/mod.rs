//! HTTP for every provider call: the client (limits, redirects, exchange
//! recording) and the one redactor that keeps secrets out of everything recorded.

mod client;
mod origin;
mod redact;

pub use client::{
    Auth, ClientConfig, ExchangeRecorder, HttpClient, HttpError, JsonError, Request, Response,
};
pub use redact::{REDACTED, RedactError, Redactor};
