//! Tokens: grants, the token manager and the credential store.
//! Never formats reports; never hands refresh tokens to probes.

pub mod answer;
pub mod connect;
pub mod health;
pub mod helper;
pub mod import;
pub mod pkce;
pub mod response;
mod rotation;
pub mod store;
pub mod token;

pub use answer::{ERROR_PROBE_GRANT, TokenAnswer};
pub use rotation::{Downscoped, Narrowing};
pub use store::{CredentialStore, Entry, StoreError};
pub use token::{AuthError, ClientRegistration, TokenManager};
