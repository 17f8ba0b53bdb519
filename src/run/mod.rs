//! Planning and orchestration of a run: suites × connections × probes.
//! The runner emits events and returns a finished run; it never formats output.
//! A run gathers evidence (network) and then assesses it (pure); a shard run
//! (`--shard i/n`) only gathers, and `merge` assesses the shards together.

mod assess;
mod callbacks;
mod chain;
mod connections;
mod credentials;
mod evidence;
mod evidence_mode;
mod execute;
mod gather;
pub mod history;
mod merge;
mod metadata;
mod permissions;
mod refresh;
mod replay;
mod session;
mod shard;
mod summary;
mod types;

pub use credentials::{open_store, token_health};
pub use evidence::{
    CallbackSeen, EndpointInfo, MergeEvidenceError, PermissionEvidence, SampleEvidence,
    SignalsEvidence, SuiteEvidence, ViolationEvidence,
};
pub use evidence_mode::{EvidenceMode, OMITTED, READ_HEADERS, apply_evidence_mode, body_shape};
pub use execute::{execute, execute_loaded, execute_shard, load_suites, new_run_id};
pub use merge::{MergeError, MergeOptions, merge};
pub use replay::ConsumedConnection;
pub use session::{ProviderSession, SetupError};
pub(crate) use session::{check_issuer, expected_issuer};
pub use shard::{PROVIDER_WIDE_SHARD, Shard, ShardError, assign, hashed_shard};
pub use summary::{Counts, ProviderCounts, RunSummary, Verdict};
pub use types::*;
