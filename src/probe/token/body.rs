//! The token observation body: per grant, the answer facts merged over connections. Its serde
//! form is the snapshot JSON (`{"grants": {"<grant>": {<field>: value | [values]}}}`), fields
//! in name order, absent fields left out.

use super::{
    Answer, ContentKind, ErrorStatus, ExpiresIn, RefreshToken, ScopeKind, StatusClass, TokenFacts,
    TokenType,
};
use crate::baseline::emit::Emitter;
use crate::probe::body::{Merged, ObservationBody};
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The body of the provider's one token observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBody {
    /// Merged facts by grant label, sorted.
    pub grants: BTreeMap<String, GrantFacts>,
}

impl ObservationBody for TokenBody {
    const NAME: &'static str = "token";
    const UNREADABLE: Rule = Rule::TokenObservationUnreadable;

    fn diff(em: &mut Emitter<'_>, before: &Self, after: &Self) {
        super::diff::diff_token(em, before, after);
    }
}

/// What a token answer said, without its details (the `outcome` tag of [`Answer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Token,
    Error,
    Unreadable,
}

/// One grant's facts merged over the answers seen: each field is one value when all answers
/// agree, else their distinct values; a field no answer has (another outcome) is absent.
/// Field order is the snapshot's (by name).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GrantFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control_no_store: Option<Merged<bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<Merged<ContentKind>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Merged<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_json: Option<Merged<bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<Merged<ErrorStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_with_200: Option<Merged<bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<Merged<ExpiresIn>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Merged<Outcome>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expiry_hints: Option<Merged<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Merged<RefreshToken>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Merged<ScopeKind>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_class: Option<Merged<StatusClass>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<Merged<TokenType>>,
}

impl GrantFacts {
    /// Merges answers field by field; the order of `facts` never matters.
    pub fn merge(facts: &[&TokenFacts]) -> GrantFacts {
        let tokens: Vec<_> = facts
            .iter()
            .filter_map(|f| match &f.answer {
                Answer::Token(t) => Some(t),
                _ => None,
            })
            .collect();
        let errors: Vec<_> = facts
            .iter()
            .filter_map(|f| match &f.answer {
                Answer::Error(e) => Some(e),
                _ => None,
            })
            .collect();
        let outcomes: Vec<Outcome> = facts
            .iter()
            .map(|f| match f.answer {
                Answer::Token(_) => Outcome::Token,
                Answer::Error(_) => Outcome::Error,
                Answer::Unreadable => Outcome::Unreadable,
            })
            .collect();
        GrantFacts {
            cache_control_no_store: Merged::of(facts.iter().map(|f| &f.cache_control_no_store)),
            content_type: Merged::of(facts.iter().map(|f| &f.content_type)),
            error: Merged::of(errors.iter().filter_map(|e| e.error.as_ref())),
            error_json: Merged::of(errors.iter().map(|e| &e.error_json)),
            error_status: Merged::of(errors.iter().map(|e| &e.error_status)),
            error_with_200: Merged::of(errors.iter().map(|e| &e.error_with_200)),
            expires_in: Merged::of(tokens.iter().map(|t| &t.expires_in)),
            outcome: Merged::of(&outcomes),
            refresh_expiry_hints: Merged::of(tokens.iter().map(|t| &t.refresh_expiry_hints)),
            refresh_token: Merged::of(tokens.iter().map(|t| &t.refresh_token)),
            scope: Merged::of(tokens.iter().map(|t| &t.scope)),
            status_class: Merged::of(facts.iter().map(|f| &f.status_class)),
            token_type: Merged::of(tokens.iter().map(|t| &t.token_type)),
        }
    }

    /// The facts as their snapshot JSON (drift evidence).
    pub fn to_json(&self) -> serde_json::Value {
        // Plain enums, strings and bools: serialising cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
