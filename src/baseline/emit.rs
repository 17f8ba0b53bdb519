//! The drift emitter shared by the diff rules of every probe: builds a
//! [`Drift`] for one observation key, so each rule states only what changed.

use crate::model::{Drift, ObservationKey, Severity};
use crate::rules::Rule;
use serde_json::Value;

pub(crate) struct Emitter<'a> {
    pub key: &'a ObservationKey,
    pub out: Vec<Drift>,
}

impl<'a> Emitter<'a> {
    pub fn new(key: &'a ObservationKey) -> Self {
        Emitter {
            key,
            out: Vec::new(),
        }
    }

    /// Adds one drift about `key`; per-connection keys name their connection.
    pub fn push(
        &mut self,
        rule: Rule,
        severity: Severity,
        path: Option<&str>,
        message: String,
        before: Option<Value>,
        after: Option<Value>,
    ) {
        self.out.push(Drift {
            rule: rule.emit(severity),
            severity,
            provider: self.key.provider.clone(),
            probe: self.key.probe,
            subject: self.key.subject.clone(),
            path: path.map(str::to_owned),
            connections: self.key.connection.iter().cloned().collect(),
            message,
            before,
            after,
            exchanges: Vec::new(),
            fingerprint: String::new(),
            suppressed: None,
            first_seen: None,
        });
    }

    /// "connection `x`" for per-connection keys, for messages.
    pub fn who(&self) -> String {
        match &self.key.connection {
            Some(c) => format!("connection `{c}`"),
            None => "the connection".to_owned(),
        }
    }
}
