//! Why each scope is needed (issue 20): from one provider's classified permission matrix, the
//! endpoints each requested scope unlocks, and `permission.scope-unused` for a requested scope
//! nothing justifies. Pure: works on classified cells and the suite's documented scopes only;
//! no HTTP, no baselines, no output formats.
//!
//! The rule (docs/scopes.md says the same in prose):
//!
//! 1. Only `granted`, `partial` and `denied` cells count; their level is 2, 1 and 0.
//! 2. A *comparison* of endpoint E is two probed scope sets `wider` ⊋ `narrower` (as sets of
//!    scopes) where `wider` gets data (granted or partial) and `narrower` gets less. Their
//!    difference is the candidates: at least one of them unlocks what `wider` gets more.
//! 3. A candidate is ruled out when some probed scope set lacking it gets at least what
//!    `wider` gets on E (it is not needed for that) — unless that would rule out every one.
//! 4. Only comparisons whose candidates are minimal (no other comparison of E has a proper
//!    subset of them) count.
//! 5. One candidate left: that scope unlocks E, *observed* and isolated. Several: the ones E
//!    documents (`requires`, `requires_any`, `requires_fields`) are credited; when E documents
//!    none of them, every one is credited, *not isolated* (`together_with` names the others).
//! 6. A scope E documents that no comparison credits is credited *documented* (not isolated)
//!    when no probed set lacking it gets E's full data; otherwise the observation contradicts
//!    the documentation and the permission findings already say so.
//!
//! A requested scope (`auth.scopes` or any scope set) credited with no endpoint and
//! documented by none is `permission.scope-unused` — except the [`TOKEN_SCOPES`], which serve
//! the token endpoint (ID tokens, refresh tokens, claims), not an API endpoint, and except in
//! a suite with nothing to judge by (one probed scope set and no documented scopes).

use super::{Cell, CellClass};
use crate::model::{Drift, ProbeKind, Severity};
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Scopes that serve the token endpoint rather than an API endpoint, never flagged unused:
/// `openid` (an ID token), `offline_access` (a refresh token), and the OpenID Connect claim
/// scopes `profile`, `email`, `address`, `phone` (claims of the ID token / userinfo).
pub const TOKEN_SCOPES: [&str; 6] = [
    "openid",
    "offline_access",
    "profile",
    "email",
    "address",
    "phone",
];

/// The subject of `permission.scope-unused` findings (the scope is their `path`).
pub const SUBJECT: &str = "scopes";

/// What the justification reads of one endpoint.
#[derive(Debug, Clone, Copy)]
pub struct EndpointScopes<'a> {
    pub id: &'a str,
    pub requires: &'a [String],
    pub requires_any: &'a [Vec<String>],
    pub requires_fields: &'a BTreeMap<String, Vec<String>>,
    /// The classified cells (after `requires_fields`); `None` when nothing was probed.
    pub cells: Option<&'a BTreeMap<String, Cell>>,
}

impl EndpointScopes<'_> {
    fn documents(&self, scope: &str) -> bool {
        self.requires.iter().any(|s| s == scope)
            || self.requires_any.iter().flatten().any(|s| s == scope)
            || self.requires_fields.values().flatten().any(|s| s == scope)
    }
}

/// Why each scope of one provider is needed: the `scopes` member of run.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderScopes {
    pub provider: String,
    /// There is something to judge by: the matrix compares two probed scope sets that differ,
    /// or an endpoint documents its scopes. When false no scope is flagged unused.
    #[serde(default)]
    pub judged: bool,
    /// Every requested scope, sorted by name.
    pub scopes: Vec<ScopeJustification>,
}

/// One requested scope and what it unlocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeJustification {
    pub scope: String,
    /// Where the suite requests it: `auth.scopes` (`auths.<name>.scopes` with several auths)
    /// and the names of the scope sets holding it, in that order.
    pub requested_in: Vec<String>,
    /// The endpoints it unlocks, in suite order.
    pub unlocks: Vec<Unlock>,
    /// One of [`TOKEN_SCOPES`]: never flagged unused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub token_scope: bool,
    /// Credited with no endpoint and documented by none: `permission.scope-unused`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unused: bool,
}

/// One endpoint a scope unlocks, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlock {
    pub endpoint: String,
    pub basis: Basis,
    /// Observed: what the wider set (holding the scope) got, `granted` or `partial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gets: Option<CellClass>,
    /// Observed: what the narrower set (without the scope) got, `denied` or `partial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without: Option<CellClass>,
    /// Observed: the scope set holding the scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
    /// Observed: the narrower scope set without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrower_set: Option<String>,
    /// Observed but not isolated: the other candidates the comparison could not rule out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub together_with: Vec<String>,
    /// The endpoint's `requires`, `requires_any` or `requires_fields` names the scope.
    pub documented: bool,
}

/// How a scope's unlock is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// A comparison of two probed scope sets shows it (isolated when `together_with` is
    /// empty).
    Observed,
    /// Only the endpoint's documentation names it: no comparison could isolate it.
    Documented,
}

fn level(class: CellClass) -> Option<u8> {
    match class {
        CellClass::Granted => Some(2),
        CellClass::Partial => Some(1),
        CellClass::Denied => Some(0),
        CellClass::Error | CellClass::NotProbed => None,
    }
}

/// One comparison after rules 2–3.
struct Comparison<'a> {
    wider: &'a str,
    narrower: &'a str,
    gets: CellClass,
    without: CellClass,
    candidates: BTreeSet<&'a str>,
    /// How many scopes the two sets differ by before rule 3: the closer, the clearer.
    distance: usize,
}

/// The comparisons of one endpoint that count (rules 2–4).
fn comparisons<'a>(
    cells: &'a BTreeMap<String, Cell>,
    scope_sets: &'a BTreeMap<String, Vec<String>>,
) -> Vec<Comparison<'a>> {
    let probed: Vec<(&str, BTreeSet<&str>, CellClass, u8)> = cells
        .iter()
        .filter_map(|(set, cell)| {
            let scopes = scope_sets.get(set)?;
            let l = level(cell.class)?;
            Some((
                set.as_str(),
                scopes.iter().map(String::as_str).collect(),
                cell.class,
                l,
            ))
        })
        .collect();
    let mut out: Vec<Comparison<'a>> = Vec::new();
    for (wider, w_scopes, gets, w_level) in &probed {
        if *w_level == 0 {
            continue;
        }
        for (narrower, n_scopes, without, n_level) in &probed {
            if n_level >= w_level || !n_scopes.is_subset(w_scopes) || n_scopes == w_scopes {
                continue;
            }
            let all: BTreeSet<&str> = w_scopes.difference(n_scopes).copied().collect();
            // Rule 3: a set lacking the scope that gets at least as much rules it out.
            let kept: BTreeSet<&str> = all
                .iter()
                .copied()
                .filter(|s| {
                    !probed
                        .iter()
                        .any(|(_, z, _, zl)| zl >= w_level && !z.contains(s))
                })
                .collect();
            out.push(Comparison {
                wider,
                narrower,
                gets: *gets,
                without: *without,
                distance: all.len(),
                candidates: if kept.is_empty() { all } else { kept },
            });
        }
    }
    // Rule 4: only minimal candidate sets.
    let minimal: Vec<bool> = out
        .iter()
        .map(|c| {
            !out.iter().any(|o| {
                o.candidates.len() < c.candidates.len() && o.candidates.is_subset(&c.candidates)
            })
        })
        .collect();
    out.into_iter()
        .zip(minimal)
        .filter_map(|(c, keep)| keep.then_some(c))
        .collect()
}

/// Why each scope of `provider` is needed. `requested` maps where scopes are requested
/// (`auth.scopes`, …) to the scopes; the scope sets are requested too.
pub fn justify(
    provider: &str,
    endpoints: &[EndpointScopes<'_>],
    scope_sets: &BTreeMap<String, Vec<String>>,
    requested: &BTreeMap<String, Vec<String>>,
) -> ProviderScopes {
    let mut where_: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (label, scopes) in requested.iter().chain(scope_sets) {
        for s in scopes {
            let places = where_.entry(s.as_str()).or_default();
            if !places.contains(label) {
                places.push(label.clone());
            }
        }
    }
    let mut unlocks: BTreeMap<&str, Vec<Unlock>> = BTreeMap::new();
    for ep in endpoints {
        // Scope → (rank, unlock): the clearest evidence wins: fewest other candidates, then
        // the closest sets, the most data unlocked, then set names (deterministic).
        type Rank = (
            usize,
            usize,
            CellClass,
            std::cmp::Reverse<CellClass>,
            String,
            String,
        );
        let mut best: BTreeMap<&str, (Rank, Unlock)> = BTreeMap::new();
        if let Some(cells) = ep.cells {
            for c in comparisons(cells, scope_sets) {
                let documented: BTreeSet<&str> = c
                    .candidates
                    .iter()
                    .copied()
                    .filter(|s| ep.documents(s))
                    .collect();
                let credited = if documented.is_empty() {
                    &c.candidates
                } else {
                    &documented
                };
                for s in credited {
                    let together_with: Vec<String> = c
                        .candidates
                        .iter()
                        .filter(|o| *o != s)
                        .map(|o| (*o).to_owned())
                        .collect();
                    let rank: Rank = (
                        together_with.len(),
                        c.distance,
                        c.gets,
                        std::cmp::Reverse(c.without),
                        c.wider.to_owned(),
                        c.narrower.to_owned(),
                    );
                    if best.get(s).is_some_and(|(b, _)| *b <= rank) {
                        continue;
                    }
                    let unlock = Unlock {
                        endpoint: ep.id.to_owned(),
                        basis: Basis::Observed,
                        gets: Some(c.gets),
                        without: Some(c.without),
                        set: Some(c.wider.to_owned()),
                        narrower_set: Some(c.narrower.to_owned()),
                        together_with,
                        documented: ep.documents(s),
                    };
                    best.insert(*s, (rank, unlock));
                }
            }
        }
        let mut best: BTreeMap<&str, Unlock> = best.into_iter().map(|(s, (_, u))| (s, u)).collect();
        // Rule 6: documented, not isolated — unless a set lacking the scope gets full data.
        let documented_scopes = ep
            .requires
            .iter()
            .chain(ep.requires_any.iter().flatten())
            .chain(ep.requires_fields.values().flatten());
        for s in documented_scopes {
            if best.contains_key(s.as_str()) {
                continue;
            }
            let contradicted = ep.cells.is_some_and(|cells| {
                cells.iter().any(|(set, cell)| {
                    cell.class == CellClass::Granted
                        && scope_sets.get(set).is_some_and(|sc| !sc.contains(s))
                })
            });
            if contradicted {
                continue;
            }
            best.insert(
                s.as_str(),
                Unlock {
                    endpoint: ep.id.to_owned(),
                    basis: Basis::Documented,
                    gets: None,
                    without: None,
                    set: None,
                    narrower_set: None,
                    together_with: Vec::new(),
                    documented: true,
                },
            );
        }
        for (s, u) in best {
            unlocks.entry(s).or_default().push(u);
        }
    }
    // Something to judge by: the matrix compares two probed scope sets that differ, or an
    // endpoint documents its scopes. A suite with one scope set and no `requires` cannot say
    // what any scope unlocks, so it flags none.
    let probed_sets: BTreeSet<Vec<&str>> = endpoints
        .iter()
        .filter_map(|e| e.cells)
        .flat_map(|cells| {
            cells
                .iter()
                .filter(|(_, c)| level(c.class).is_some())
                .filter_map(|(set, _)| scope_sets.get(set))
                .map(|scopes| {
                    let mut v: Vec<&str> = scopes.iter().map(String::as_str).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                })
        })
        .collect();
    let judged = probed_sets.len() > 1
        || endpoints.iter().any(|e| {
            !e.requires.is_empty() || !e.requires_any.is_empty() || !e.requires_fields.is_empty()
        });
    let scopes = where_
        .into_iter()
        .map(|(scope, requested_in)| {
            let unlocks = unlocks.remove(scope).unwrap_or_default();
            let token_scope = TOKEN_SCOPES.contains(&scope);
            let documented = endpoints.iter().any(|e| e.documents(scope));
            ScopeJustification {
                scope: scope.to_owned(),
                requested_in,
                unused: judged && unlocks.is_empty() && !documented && !token_scope,
                unlocks,
                token_scope,
            }
        })
        .collect();
    ProviderScopes {
        provider: provider.to_owned(),
        judged,
        scopes,
    }
}

/// `permission.scope-unused` for every unused scope of `p`, sorted by scope.
pub fn findings(p: &ProviderScopes, scope_sets: &BTreeMap<String, Vec<String>>) -> Vec<Drift> {
    p.scopes
        .iter()
        .filter(|s| s.unused)
        .map(|s| {
            let holders = scope_sets.values().filter(|v| v.contains(&s.scope)).count();
            let why = if holders == 0 {
                "no scope set holds it, so it was never probed"
            } else if holders == scope_sets.len() && holders > 1 {
                "every scope set holds it, so no comparison can isolate it"
            } else {
                "no comparison of the probed scope sets credits it with an endpoint"
            };
            let rule = Rule::PermissionScopeUnused;
            Drift {
                rule: rule.emit(Severity::Info),
                severity: Severity::Info,
                provider: p.provider.clone(),
                probe: ProbeKind::Permissions,
                subject: SUBJECT.to_owned(),
                path: Some(s.scope.clone()),
                connections: Vec::new(),
                message: format!(
                    "scope `{}` is requested ({}) but unlocks nothing the suite probes: {why}, \
                     and no endpoint documents it; drop it (least privilege) or probe what needs it",
                    s.scope,
                    s.requested_in
                        .iter()
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                before: None,
                after: Some(serde_json::json!({"requested_in": s.requested_in})),
                exchanges: Vec::new(),
                fingerprint: String::new(),
                suppressed: None,
                first_seen: None,
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "scopes_tests.rs"]
mod tests;
