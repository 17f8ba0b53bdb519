//! Planning and orchestration of a run.
