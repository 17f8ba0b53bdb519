//! Compares a baseline observation with the current one and names each difference as a drift
//! with a rule id and severity; knows nothing about HTTP, files or output formats.

use crate::model::{Drift, Observation, ProbeKind};

/// Drifts between a baseline observation and the current one (same key), sorted by
/// [`Drift::sort_key`]. Dispatches on `key.probe`.
pub fn diff_observations(before: &Observation, after: &Observation) -> Vec<Drift> {
    let mut drifts = match before.key.probe {
        ProbeKind::Schema => crate::probe::body::diff_bodies::<crate::probe::schema::SchemaBody>(
            &before.key,
            &before.body,
            &after.body,
        ),
        ProbeKind::Token => crate::probe::body::diff_bodies::<crate::probe::token::TokenBody>(
            &before.key,
            &before.body,
            &after.body,
        ),
        ProbeKind::Permissions => crate::probe::body::diff_bodies::<
            crate::probe::permissions::PermissionsBody,
        >(&before.key, &before.body, &after.body),
        ProbeKind::Refresh => crate::probe::body::diff_bodies::<
            crate::probe::refresh::Classification,
        >(&before.key, &before.body, &after.body),
        ProbeKind::Metadata => crate::probe::body::diff_bodies::<
            crate::probe::metadata::MetadataBody,
        >(&before.key, &before.body, &after.body),
        ProbeKind::Deprecation => crate::probe::body::diff_bodies::<
            crate::probe::deprecation::DeprecationBody,
        >(&before.key, &before.body, &after.body),
        // The callback probe's observations share the app probe (issue 20 item 3).
        ProbeKind::App
            if before
                .key
                .subject
                .starts_with(crate::probe::app::CALLBACK_PREFIX) =>
        {
            crate::probe::body::diff_bodies::<crate::probe::app::CallbackBody>(
                &before.key,
                &before.body,
                &after.body,
            )
        }
        ProbeKind::App => crate::probe::body::diff_bodies::<crate::probe::app::AppBody>(
            &before.key,
            &before.body,
            &after.body,
        ),
        ProbeKind::Values => crate::probe::body::diff_bodies::<crate::probe::values::ValuesBody>(
            &before.key,
            &before.body,
            &after.body,
        ),
    };
    // Stable sort: drifts with equal keys keep their (deterministic) emission order.
    drifts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    drifts
}
