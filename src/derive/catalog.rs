//! The trait catalogue: every trait name `derive` writes, with its kind and meaning.
//!
//! Owns the naming scheme of derived traits, written as patterns with placeholders:
//! `{W}` a window in days (`--windows`, default 30, 90, 365), `{CAT}` a product category,
//! `{CAMPAIGN}` an ad campaign, `{P}` a provider, `{COL}` a provider column, `{X}` an interest.
//! The README table and `audience traits` are both printed from [`CATALOG`], so they cannot drift
//! apart; [`describe`] finds the entry of a concrete name.
//!
//! It does not compute anything (see [`super::compute`]).

/// One documented trait pattern.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The name pattern, e.g. `purchase.frequency_{W}d`.
    pub pattern: &'static str,
    /// `int`, `float` or `categorical` / `bool`.
    pub kind: &'static str,
    /// What the value means.
    pub meaning: &'static str,
}

const fn e(pattern: &'static str, kind: &'static str, meaning: &'static str) -> Entry {
    Entry { pattern, kind, meaning }
}

/// Half-life of the time decay of web behaviour, in days.
pub const HALF_LIFE_DAYS: f64 = 30.0;

/// Every derived trait. Ages are whole days between the as-of day and the event's UTC day; an
/// event is in window `{W}` when `0 <= age < W` (so an event exactly W days old is out).
pub const CATALOG: &[Entry] = &[
    e("purchase.recency_days", "int", "days since the last purchase (receipt, in store or online); missing without purchases"),
    e("purchase.tenure_days", "int", "days since the first purchase"),
    e("purchase.frequency", "int", "purchases up to the as-of day"),
    e("purchase.monetary", "float", "spend (EUR) up to the as-of day"),
    e("purchase.basket", "float", "average basket: monetary / frequency; missing without purchases"),
    e("purchase.frequency_{W}d", "int", "purchases in the last W days"),
    e("purchase.monetary_{W}d", "float", "spend (EUR) in the last W days"),
    e("purchase.basket_{W}d", "float", "average basket in the last W days; missing without purchases there"),
    e("purchase.trend_{W}d", "float", "(spend in the last W days - spend in the W days before) / their sum, in [-1, 1]; missing when both are 0"),
    e("purchase.spend.{CAT}_{W}d", "float", "spend (EUR) on category CAT in the last W days"),
    e("purchase.count.{CAT}_{W}d", "int", "purchases of category CAT in the last W days"),
    e("channel.online_share", "float", "share of purchases made online (receipts with channel = online); missing without purchases"),
    e("loyalty.member", "bool", "holds a loyalty card (CRM)"),
    e("web.days_since_visit", "int", "days since the last web event; missing without web events"),
    e("web.pageviews_{W}d", "int", "page views in the last W days"),
    e("web.sessions_{W}d", "int", "distinct sessions in the last W days"),
    e("web.carts_{W}d", "int", "add-to-cart events in the last W days"),
    e("web.pageviews.{CAT}_decay", "float", "page views of category CAT, each weighted 0.5^(age / 30 days)"),
    e("web.sessions.{CAT}_decay", "float", "sessions with a page view of CAT, each weighted 0.5^(age of its last event / 30 days)"),
    e("email.open_rate", "float", "campaigns opened / campaigns sent (every campaign in the email events counts as sent to every CRM e-mail); missing without an e-mail"),
    e("email.click_rate", "float", "campaigns clicked / campaigns sent; missing without an e-mail"),
    e("email.opens_{W}d", "int", "e-mail opens in the last W days"),
    e("email.clicks_{W}d", "int", "e-mail clicks in the last W days"),
    e("ad.impressions", "int", "ad impressions up to the as-of day (all campaigns)"),
    e("ad.clicks", "int", "ad clicks up to the as-of day (all campaigns)"),
    e("ad.ctr", "float", "ad clicks / impressions; missing without impressions"),
    e("ad.impressions.{CAMPAIGN}", "int", "impressions of CAMPAIGN"),
    e("ad.clicks.{CAMPAIGN}", "int", "clicks on CAMPAIGN"),
    e("ad.ctr.{CAMPAIGN}", "float", "clicks / impressions of CAMPAIGN; missing without impressions"),
    e("devices.count", "int", "distinct mobile devices (MAIDs) seen with the profile's cookies or logins"),
    e("cookies.count", "int", "distinct cookies that logged in as the profile (or were seen with its e-mail hash)"),
    e("consent.ads", "bool", "ad consent from the CRM (replaces an imported consent.ads)"),
    e("demo.age", "int", "age in whole years on the as-of day, from the CRM birth date"),
    e("demo.tenure_days", "int", "days since the CRM sign-up date"),
    e("provider.{P}.{COL}", "as in the file", "column COL of provider P's file, for the profile's first matched cookie/MAID row (3rd party, origin provider P)"),
    e("provider.{P}.interest.{X}", "bool", "provider P lists interest X for the profile (false: matched without it; missing: not matched)"),
];

/// The catalogue entry whose pattern matches `name`.
pub fn describe(name: &str) -> Option<&'static Entry> {
    // The most specific pattern first: fewer placeholders win.
    let mut hits: Vec<&Entry> = CATALOG.iter().filter(|e| matches(e.pattern, name)).collect();
    hits.sort_by_key(|e| {
        let literal = e.pattern.len() - e.pattern.matches('{').count() * 3;
        (e.pattern.matches('{').count(), std::cmp::Reverse(literal))
    });
    hits.first().copied()
}

/// Whether `name` fits `pattern` (`{W}` matches digits, other placeholders any non-empty text).
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.find('{') {
        None => pattern == name,
        Some(open) => {
            let Some(prefix_len) =
                name.get(..open).filter(|p| *p == &pattern[..open]).map(str::len)
            else {
                return false;
            };
            let close = open + pattern[open..].find('}').expect("closed placeholder");
            let digits = &pattern[open..=close] == "{W}";
            let rest_pat = &pattern[close + 1..];
            let rest = &name[prefix_len..];
            (1..=rest.len()).filter(|&k| rest.is_char_boundary(k)).any(|k| {
                (!digits || rest[..k].bytes().all(|b| b.is_ascii_digit()))
                    && matches(rest_pat, &rest[k..])
            })
        }
    }
}

/// Turns a raw value (category, campaign, provider, interest) into a name part: lowercase, with
/// every character other than `a-z 0-9 _ -` replaced by `_`.
pub fn name_part(raw: &str) -> String {
    raw.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concrete_names_find_their_entry() {
        let p = |n: &str| describe(n).map(|e| e.pattern);
        assert_eq!(p("purchase.frequency_90d"), Some("purchase.frequency_{W}d"));
        assert_eq!(p("purchase.frequency"), Some("purchase.frequency"));
        assert_eq!(p("purchase.spend.shoes_90d"), Some("purchase.spend.{CAT}_{W}d"));
        assert_eq!(p("web.pageviews.shoes_decay"), Some("web.pageviews.{CAT}_decay"));
        assert_eq!(p("ad.ctr.spring_sale"), Some("ad.ctr.{CAMPAIGN}"));
        assert_eq!(p("ad.ctr"), Some("ad.ctr"));
        assert_eq!(p("provider.acme_data.interest.golf"), Some("provider.{P}.interest.{X}"));
        assert_eq!(p("provider.acme_data.age_band"), Some("provider.{P}.{COL}"));
        assert_eq!(p("purchase.frequency_x0d"), None);
        assert_eq!(p("country"), None);
    }

    #[test]
    fn name_parts_are_plain() {
        assert_eq!(name_part(" Home & Garden "), "home___garden");
        assert_eq!(name_part("Shoes"), "shoes");
    }
}
