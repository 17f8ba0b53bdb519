//! Baselines: snapshot files, the dispatch that turns two observations into drifts (each
//! probe's diff rules live in its folder under `src/probe/`, behind
//! `probe::body::ObservationBody`; the schema rules are still here), and the pending/accept
//! workflow. Knows nothing about HTTP or how drifts are reported.

pub mod diff;
pub(crate) mod emit;
pub mod snapshot;
pub mod store;
pub mod suppress;

pub use diff::diff_observations;
pub use snapshot::{
    SNAPSHOT_FORMAT, SnapshotError, SnapshotHeader, parse_snapshot, render_snapshot,
};
pub mod review;
pub use store::{BaselineStore, Compared, Comparison, Filter, SnapshotBatch, UpdateMode};
pub use suppress::{
    SuppressError, Suppression, apply_suppressions, load_suppressions, parse_suppressions,
};
