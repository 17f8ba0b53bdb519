//! The fixed chat channels (Slack-style) and workout activities (Strava-style) of each
//! simulated account, and their JSON items. Deterministic; knows nothing about scopes or HTTP.

use serde_json::{Value, json};

/// One chat channel.
#[derive(Debug)]
struct Channel {
    id: &'static str,
    name: &'static str,
    is_private: bool,
    created: u64,
}

/// One recorded activity; `private` ones are Strava's "Only You" visibility.
#[derive(Debug)]
struct Activity {
    id: u64,
    name: &'static str,
    private: bool,
    distance: f64,
    start_date: &'static str,
}

const fn ch(id: &'static str, name: &'static str, is_private: bool, created: u64) -> Channel {
    Channel {
        id,
        name,
        is_private,
        created,
    }
}

const fn act(
    id: u64,
    name: &'static str,
    private: bool,
    distance: f64,
    start_date: &'static str,
) -> Activity {
    Activity {
        id,
        name,
        private,
        distance,
        start_date,
    }
}

/// Channels per account slug.
static CHANNELS: [(&str, &[Channel]); 4] = [
    (
        "acme-corp",
        &[
            ch("C01ACME0GNRL", "general", false, 1_614_852_000),
            ch("C01ACME0RNDM", "random", false, 1_614_852_060),
            ch("C02ACME0OPS1", "ops", true, 1_620_000_000),
        ],
    ),
    (
        "globex",
        &[
            ch("C03GLBX0GNRL", "general", false, 1_658_241_000),
            ch("C03GLBX0RNDM", "random", false, 1_658_241_060),
            ch("C04GLBX0SALE", "sales", false, 1_660_000_000),
        ],
    ),
    (
        "initech",
        &[
            ch("C05INIT0GNRL", "general", false, 1_606_725_900),
            ch("C05INIT0RNDM", "random", false, 1_606_725_960),
            ch("C06INIT0TPSR", "tps-reports", true, 1_610_000_000),
        ],
    ),
    (
        "umbrella",
        &[
            ch("C07UMBR0GNRL", "general", false, 1_559_347_200),
            ch("C07UMBR0RNDM", "random", false, 1_559_347_260),
            ch("C08UMBR0LABS", "labs", true, 1_570_000_000),
        ],
    ),
];

/// Activities per account slug: 4 public + 2 private, 3 + 0, 2 + 1, 1 + 1.
static ACTIVITIES: [(&str, &[Activity]); 4] = [
    (
        "acme-corp",
        &[
            act(
                9_101_000_001,
                "Morning Run",
                false,
                5012.4,
                "2024-05-01T06:30:00Z",
            ),
            act(
                9_101_000_002,
                "Lunch Ride",
                false,
                20450.5,
                "2024-05-02T12:05:00Z",
            ),
            act(
                9_101_000_003,
                "Recovery Jog",
                true,
                3010.2,
                "2024-05-03T18:45:00Z",
            ),
            act(
                9_101_000_004,
                "Hill Repeats",
                false,
                8120.7,
                "2024-05-04T07:00:00Z",
            ),
            act(
                9_101_000_005,
                "Night Walk",
                true,
                2200.1,
                "2024-05-05T21:15:00Z",
            ),
            act(
                9_101_000_006,
                "Long Run",
                false,
                21097.5,
                "2024-05-06T08:00:00Z",
            ),
        ],
    ),
    (
        "globex",
        &[
            act(
                9_202_000_001,
                "Commute",
                false,
                7400.3,
                "2024-04-11T08:10:00Z",
            ),
            act(
                9_202_000_002,
                "Commute Home",
                false,
                7390.8,
                "2024-04-11T17:40:00Z",
            ),
            act(
                9_202_000_003,
                "Trail Run",
                false,
                12005.6,
                "2024-04-13T09:00:00Z",
            ),
        ],
    ),
    (
        "initech",
        &[
            act(
                9_303_000_001,
                "Parking Lot Laps",
                false,
                1609.3,
                "2024-03-20T12:30:00Z",
            ),
            act(
                9_303_000_002,
                "Escape Ride",
                true,
                15000.5,
                "2024-03-21T17:01:00Z",
            ),
            act(
                9_303_000_003,
                "Saturday Run",
                false,
                10000.2,
                "2024-03-23T10:00:00Z",
            ),
        ],
    ),
    (
        "umbrella",
        &[
            act(
                9_404_000_001,
                "Lab Loop",
                true,
                4200.9,
                "2024-02-02T06:00:00Z",
            ),
            act(
                9_404_000_002,
                "City Run",
                false,
                9800.4,
                "2024-02-03T07:30:00Z",
            ),
        ],
    ),
];

fn lookup<T>(table: &'static [(&str, &'static [T])], slug: &str) -> &'static [T] {
    table
        .iter()
        .find(|(s, _)| *s == slug)
        .map_or(&[], |(_, items)| *items)
}

/// The account's channels as Slack `conversations.list` items.
pub(crate) fn channels(slug: &str) -> Vec<Value> {
    lookup(&CHANNELS, slug)
        .iter()
        .map(|c| json!({"id": c.id, "name": c.name, "is_private": c.is_private, "created": c.created}))
        .collect()
}

/// The account's activities as Strava-style items; private ones only when `include_private`.
pub(crate) fn activities(slug: &str, include_private: bool) -> Vec<Value> {
    lookup(&ACTIVITIES, slug)
        .iter()
        .filter(|a| include_private || !a.private)
        .map(|a| {
            let visibility = if a.private { "only_me" } else { "everyone" };
            json!({
                "id": a.id,
                "name": a.name,
                "visibility": visibility,
                "distance": a.distance,
                "start_date": a.start_date,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::data::ACCOUNTS;
    use super::*;

    #[test]
    fn every_account_has_three_channels_and_the_documented_activities() {
        for slug in ACCOUNTS {
            assert_eq!(channels(slug).len(), 3, "{slug}");
        }
        let counts: Vec<(usize, usize)> = ACCOUNTS
            .iter()
            .map(|s| (activities(s, false).len(), activities(s, true).len()))
            .collect();
        assert_eq!(counts, [(4, 6), (3, 3), (2, 3), (1, 2)]);
        assert!(channels("hooli").is_empty() && activities("hooli", true).is_empty());
    }

    #[test]
    fn items_are_exact_and_floats_keep_a_fraction() {
        assert_eq!(
            channels("globex")[0],
            json!({"id": "C03GLBX0GNRL", "name": "general", "is_private": false,
                   "created": 1_658_241_000})
        );
        let all = activities("initech", true);
        assert_eq!(
            all[1],
            json!({"id": 9_303_000_002_u64, "name": "Escape Ride", "visibility": "only_me",
                   "distance": 15000.5, "start_date": "2024-03-21T17:01:00Z"})
        );
        let public = activities("initech", false);
        let names: Vec<&str> = public.iter().filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(names, ["Parking Lot Laps", "Saturday Run"]);
        for slug in ACCOUNTS {
            for a in activities(slug, true) {
                let text = a["distance"].to_string();
                assert!(text.contains('.'), "{text}");
            }
        }
    }
}
