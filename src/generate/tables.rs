//! The schema contract of the generated world: every table's file name and typed columns.
//!
//! Other modules (identity resolution, traits, look-alike models, exports) code against these
//! names, so columns may be added but never renamed. `ts` is Int64 unix seconds UTC; dates are
//! `YYYY-MM-DD` text; an empty text value is missing.
//!
//! Owns only the schemas and the index of each streamed table in a chunk's buffers.

use super::sink::{Kind::*, Schema};

/// The CRM customer file, with its noise (typos, missing fields, format variants, duplicates).
pub static CRM: Schema = Schema {
    name: "crm",
    cols: &[
        ("customer_id", Str),
        ("first_name", Str),
        ("last_name", Str),
        ("email", Str),
        ("phone", Str),
        ("street", Str),
        ("city", Str),
        ("postcode", Str),
        ("country", Str),
        ("birth_date", Str),
        ("gender", Str),
        ("loyalty_card", Str),
        ("ad_consent", Bool),
        ("signup_date", Str),
    ],
};

/// Till receipts and online orders.
pub static RECEIPTS: Schema = Schema {
    name: "receipts",
    cols: &[
        ("receipt_id", Str),
        ("ts", Int),
        ("store_id", Str),
        ("channel", Str),
        ("loyalty_card", Str),
        ("customer_id", Str),
        ("category", Str),
        ("amount", Float),
        ("lines", Int),
    ],
};

/// Events on our own site and app.
pub static WEB_EVENTS: Schema = Schema {
    name: "web_events",
    cols: &[
        ("ts", Int),
        ("cookie", Str),
        ("device_id", Str),
        ("device_type", Str),
        ("ip", Str),
        ("user_agent", Str),
        ("event_type", Str),
        ("category", Str),
        ("url", Str),
        ("session_id", Str),
        ("email_sha256", Str),
    ],
};

/// Opens and clicks of our email campaigns.
pub static EMAIL_EVENTS: Schema = Schema {
    name: "email_events",
    cols: &[("ts", Int), ("email_sha256", Str), ("campaign", Str), ("event", Str)],
};

/// Impressions and clicks of our ads on the open web and in apps.
pub static AD_EXPOSURES: Schema = Schema {
    name: "ad_exposures",
    cols: &[
        ("ts", Int),
        ("cookie", Str),
        ("device_id", Str),
        ("ip", Str),
        ("user_agent", Str),
        ("campaign", Str),
        ("event", Str),
    ],
};

/// 2nd party: cookie syncs between a partner's cookie and ours.
pub static PARTNER_SYNCS: Schema = Schema {
    name: "partner_syncs",
    cols: &[("partner", Str), ("partner_cookie", Str), ("cookie", Str), ("ts", Int)],
};

/// 2nd party: events on the partners' sites.
pub static PARTNER_EVENTS: Schema = Schema {
    name: "partner_events",
    cols: &[
        ("partner", Str),
        ("partner_cookie", Str),
        ("ts", Int),
        ("event_type", Str),
        ("category", Str),
    ],
};

const PROVIDER_COLS: &[(&str, super::sink::Kind)] = &[
    ("id_kind", Str),
    ("id", Str),
    ("age_band", Str),
    ("income_band", Str),
    ("interests", Str),
    ("city", Str),
];

/// 3rd party: one file per provider, in [`super::vocab::PROVIDERS`] order.
pub static PROVIDER_FILES: [Schema; 3] = [
    Schema { name: "providers/acme_data", cols: PROVIDER_COLS },
    Schema { name: "providers/midmarket", cols: PROVIDER_COLS },
    Schema { name: "providers/bulkaudience", cols: PROVIDER_COLS },
];

/// The providers' price list.
pub static PROVIDERS: Schema = Schema {
    name: "providers",
    cols: &[("provider", Str), ("cpm_eur", Float), ("description", Str)],
};

/// A ready-unified profile table for `audience import`: one row per person with any identity.
pub static PROFILES: Schema = Schema {
    name: "profiles",
    cols: &[
        ("person_id", Str),
        ("party", Str),
        ("provider", Str),
        ("ad_consent", Bool),
        ("country", Str),
        ("city", Str),
        ("age", OptInt),
        ("gender", Str),
        ("income_band", Str),
        ("loyalty_member", Bool),
        ("purchases_365d", Int),
        ("spend_365d", Float),
        ("web_sessions_90d", Int),
        ("email_opens_90d", Int),
        ("ad_clicks_365d", Int),
    ],
};

/// Truth: every identifier and the person it belongs to (emails and phones as SHA-256).
pub static TRUTH_IDENTIFIERS: Schema = Schema {
    name: "truth/identifiers",
    cols: &[("kind", Str), ("value", Str), ("person_id", Str)],
};

/// Truth: every person with the latent variables.
pub static TRUTH_PERSONS: Schema = Schema {
    name: "truth/persons",
    cols: &[
        ("person_id", Str),
        ("household_id", Str),
        ("persona", Str),
        ("converts", Bool),
        ("is_customer", Bool),
        ("is_digital", Bool),
        ("visits_site", Bool),
        ("partner_visitor", Bool),
        ("has_app", Bool),
        ("loyalty_member", Bool),
        ("ad_consent", Bool),
        ("birth_date", Str),
        ("age", Int),
        ("city", Str),
        ("country", Str),
        ("gender", Str),
        ("income_band", Str),
        ("engagement", Float),
        ("top_interests", Str),
        ("home_ip", Str),
        ("public_ip", Str),
    ],
};

/// Truth: each provider's planted accuracy and coverage.
pub static TRUTH_PROVIDERS: Schema = Schema {
    name: "truth/providers",
    cols: &[("provider", Str), ("accuracy", Float), ("coverage", Float), ("cpm_eur", Float)],
};

/// Truth: the public IPs (cafes, offices, ...) shared by many people.
pub static TRUTH_PUBLIC_IPS: Schema =
    Schema { name: "truth/public_ips", cols: &[("ip", Str), ("venue", Str)] };

/// Index of each streamed table in a chunk's buffers.
pub mod ix {
    /// `crm`
    pub const CRM: usize = 0;
    /// `receipts`
    pub const RECEIPTS: usize = 1;
    /// `web_events`
    pub const WEB: usize = 2;
    /// `email_events`
    pub const EMAIL: usize = 3;
    /// `ad_exposures`
    pub const ADS: usize = 4;
    /// `partner_syncs`
    pub const SYNCS: usize = 5;
    /// `partner_events`
    pub const PARTNER_EVENTS: usize = 6;
    /// `providers/*`, the first of three.
    pub const PROVIDER0: usize = 7;
    /// `profiles`
    pub const PROFILES: usize = 10;
    /// `truth/identifiers`
    pub const TRUTH_IDS: usize = 11;
    /// `truth/persons`
    pub const TRUTH_PERSONS: usize = 12;
}

/// The tables written chunk by chunk, in [`ix`] order.
pub fn streamed() -> [&'static Schema; 13] {
    [
        &CRM,
        &RECEIPTS,
        &WEB_EVENTS,
        &EMAIL_EVENTS,
        &AD_EXPOSURES,
        &PARTNER_SYNCS,
        &PARTNER_EVENTS,
        &PROVIDER_FILES[0],
        &PROVIDER_FILES[1],
        &PROVIDER_FILES[2],
        &PROFILES,
        &TRUTH_IDENTIFIERS,
        &TRUTH_PERSONS,
    ]
}
