//! Order matching: an online order in the receipts and the web purchase event of the same order.
//!
//! An online order names a customer id, a time and (often) a category; the web shop's tag logs
//! the purchase with the browser's cookie, the app's device id or the email of the login, a
//! time and a category, but no customer id. A customer whose CRM record holds no email, or
//! another address than the one used to log in, is then tied to nothing digital by the
//! deterministic links, while every one of their orders has its web purchase within minutes.
//!
//! Owns the [`Orders`] gathered while reading the sources and the links they give
//! ([`Rule::OrderMatch`]):
//! 1. **candidates**: for each order, the web purchases from [`BEFORE`] seconds before to
//!    [`AFTER`] seconds after it, of the same category when both have one. The identifier of a
//!    purchase is its email when logged in, else its cookie, else its device id. When the two
//!    sources name categories differently (fewer than half the orders' categories are ever seen
//!    on a web purchase), categories are ignored rather than trusted to match nothing. When
//!    the two clocks differ (a back office writing local time as if it were UTC), the shift of
//!    whole quarter hours (up to 14 hours; Nepal is 5:45 ahead of UTC) under which at least
//!    twice as many orders find a candidate is applied to the orders first.
//! 2. **pairs**: a customer and an identifier are linked when they meet in at least two orders
//!    and in at least half of the orders of each (the customer's orders, the identifier's
//!    purchases), confidence [`SCORE_REPEATED`]; or when the customer has one order, the
//!    identifier one purchase, and that purchase is the order's only candidate, confidence
//!    [`SCORE_SINGLE`]. A coincidence (another person buying in the same category within the
//!    window) adds 0.12 candidates per order on a shop of 28,000 orders a year (the generated
//!    20k world) and 0.63 on one of 140,000; twice for the same two identifiers, and for most of
//!    their orders, it practically never happens.
//!
//! It does not own reading the sources or clustering: the links join the graph as
//! probabilistic links, so the merge rule decides whether they take part (a deterministic-only
//! profile ignores them).

use serde::{Deserialize, Serialize};

use crate::hash::{FxHashMap, FxHashSet};

use super::graph::{Graph, Rule};

/// Seconds a web purchase may precede its order.
pub const BEFORE: i64 = 900;
/// Seconds a web purchase may follow its order.
pub const AFTER: i64 = 300;
/// Confidence of a pair met in at least two orders, and in at least half of each side's.
pub const SCORE_REPEATED: f32 = 0.999;
/// Confidence of a customer's only order matched to an identifier's only purchase, the order's
/// only candidate.
pub const SCORE_SINGLE: f32 = 0.97;

/// The category code of an order or purchase without one (it meets every category).
pub const NO_CATEGORY: u32 = u32::MAX;

/// The values of a receipt's channel that make it an online order (lower case).
pub const ONLINE_CHANNELS: &[&str] =
    &["online", "web", "ecommerce", "e-commerce", "internet", "app"];

/// The values of a web event's type that make it a purchase (lower case).
pub const PURCHASE_EVENTS: &[&str] = &["purchase", "order", "transaction"];

/// Whether a receipt's channel value is an online channel.
pub fn is_online(channel: &str) -> bool {
    ONLINE_CHANNELS.iter().any(|c| channel.trim().eq_ignore_ascii_case(c))
}

/// Whether a web event's type is a purchase.
pub fn is_purchase(event_type: &str) -> bool {
    PURCHASE_EVENTS.iter().any(|c| event_type.trim().eq_ignore_ascii_case(c))
}

/// Online orders and web purchases, as read from the sources.
#[derive(Debug, Default)]
pub struct Orders {
    /// (time, customer node, category code).
    orders: Vec<(i64, u32, u32)>,
    /// (time, identifier node, category code).
    purchases: Vec<(i64, u32, u32)>,
    categories: FxHashMap<String, u32>,
}

/// What order matching did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OrderReport {
    /// Online orders with a customer id and a time.
    pub orders: usize,
    /// Web purchases with a time.
    pub purchases: usize,
    /// Orders with at least one candidate purchase.
    pub orders_with_candidates: usize,
    /// Links of customers met in several orders ([`SCORE_REPEATED`]).
    pub links_repeated: usize,
    /// Links of single orders ([`SCORE_SINGLE`]).
    pub links_single: usize,
    /// False when the orders' and the purchases' categories were too different to be compared.
    pub categories_compared: bool,
    /// Seconds added to the orders' times to put them on the web's clock (0 unless the two
    /// clocks differ by whole quarter hours: see the module docs).
    pub clock_offset_secs: i64,
}

impl Orders {
    /// The code of a category value (case and surrounding blanks ignored; empty is none).
    pub fn category(&mut self, value: Option<&str>) -> u32 {
        let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else { return NO_CATEGORY };
        let next = self.categories.len() as u32;
        *self.categories.entry(v.to_lowercase()).or_insert(next)
    }

    /// Records an online order of `customer` at `ts` (unix seconds).
    pub fn order(&mut self, ts: i64, customer: u32, category: u32) {
        self.orders.push((ts, customer, category));
    }

    /// Records a web purchase by `node` at `ts` (unix seconds).
    pub fn purchase(&mut self, ts: i64, node: u32, category: u32) {
        self.purchases.push((ts, node, category));
    }

    /// Matches the orders to the purchases and adds a [`Rule::OrderMatch`] link for every pair
    /// the rules of the module docs accept.
    pub fn link(mut self, g: &mut Graph) -> OrderReport {
        let mut report = OrderReport {
            orders: self.orders.len(),
            purchases: self.purchases.len(),
            ..Default::default()
        };
        // Categories are compared only when most orders' categories appear among the purchases'.
        let seen: FxHashSet<u32> = self.purchases.iter().map(|p| p.2).collect();
        let with = self.orders.iter().filter(|o| o.2 != NO_CATEGORY);
        let known = with.clone().filter(|o| seen.contains(&o.2)).count();
        report.categories_compared = 2 * known >= with.count();
        if !report.categories_compared {
            self.orders.iter_mut().for_each(|o| o.2 = NO_CATEGORY);
        }
        self.purchases.sort_unstable();
        self.orders.sort_unstable();
        let offset = self.clock_offset();
        report.clock_offset_secs = offset;
        let orders_of = counts(self.orders.iter().map(|o| o.1));
        let purchases_of = counts(self.purchases.iter().map(|p| p.1));
        // (customer, node, the order's only candidate) per order and candidate.
        let mut met: Vec<(u32, u32, bool)> = Vec::new();
        let mut candidates: Vec<u32> = Vec::new();
        for &(ts, customer, cat) in &self.orders {
            self.candidates(ts.saturating_add(offset), cat, &mut candidates);
            if !candidates.is_empty() {
                report.orders_with_candidates += 1;
            }
            let only = candidates.len() == 1;
            met.extend(candidates.iter().map(|&node| (customer, node, only)));
        }
        met.sort_unstable();
        for run in met.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
            let (customer, node, only) = run[0];
            let k = run.len() as u32;
            let (n_orders, n_purchases) = (orders_of[&customer], purchases_of[&node]);
            if k >= 2 && 2 * k >= n_orders.max(n_purchases) {
                g.link(customer, node, Rule::OrderMatch, SCORE_REPEATED);
                report.links_repeated += 1;
            } else if k == 1 && only && n_orders == 1 && n_purchases == 1 {
                g.link(customer, node, Rule::OrderMatch, SCORE_SINGLE);
                report.links_single += 1;
            }
        }
        report
    }

    /// The distinct identifiers of the purchases (sorted by time) that are candidates for an
    /// order at `ts` (on the web's clock) of category `cat`.
    fn candidates(&self, ts: i64, cat: u32, out: &mut Vec<u32>) {
        out.clear();
        let lo = self.purchases.partition_point(|p| p.0 < ts.saturating_sub(BEFORE));
        for &(pts, node, pcat) in &self.purchases[lo..] {
            if pts > ts.saturating_add(AFTER) {
                break;
            }
            if cat == NO_CATEGORY || pcat == NO_CATEGORY || cat == pcat {
                out.push(node);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// The shift (seconds, a whole number of quarter hours up to 14 hours) that puts the orders on
    /// the web's clock: the one under which the most of a sample of orders have a candidate,
    /// when that is at least twice as many as with no shift (a back office writing local time
    /// as if it were UTC); else 0.
    fn clock_offset(&self) -> i64 {
        const SAMPLE: usize = 20_000;
        let step = (self.orders.len() / SAMPLE).max(1);
        let mut candidates = Vec::new();
        let mut with_candidates = |offset: i64| {
            let orders = self.orders.iter().step_by(step);
            orders
                .filter(|o| {
                    self.candidates(o.0.saturating_add(offset), o.2, &mut candidates);
                    !candidates.is_empty()
                })
                .count()
        };
        const QUARTER: i64 = 900;
        let found: Vec<(usize, i64)> =
            (-56..=56).map(|q: i64| (with_candidates(q * QUARTER), q * QUARTER)).collect();
        let unshifted = found[56].0;
        let (best, offset) = found
            .into_iter()
            .max_by_key(|&(n, offset)| (n, std::cmp::Reverse(offset.abs())))
            .unwrap_or((0, 0));
        if best >= 2 * unshifted.max(1) {
            offset
        } else {
            0
        }
    }
}

/// How many times each node occurs.
fn counts(nodes: impl Iterator<Item = u32>) -> FxHashMap<u32, u32> {
    let mut n: FxHashMap<u32, u32> = FxHashMap::default();
    for x in nodes {
        *n.entry(x).or_default() += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::graph::Kind;

    /// A shop of `n` customers: customer `i` orders `orders(i)` times, an hour after customer
    /// `i - 1` and then daily, and logs in with email `i`; the web purchase comes 200 seconds
    /// before the order.
    fn shop(g: &mut Graph, o: &mut Orders, n: u32, orders: impl Fn(u32) -> u32) -> Vec<(u32, u32)> {
        const DAY: i64 = 86_400;
        let cat = o.category(Some("shoes"));
        let mut people = Vec::new();
        for i in 0..n {
            let c = g.node(Kind::CustomerId, &format!("C{i}"));
            let e = g.node(Kind::Email, &format!("e{i}"));
            for j in 0..orders(i) {
                let ts = 1_700_000_000 + i64::from(i) * 3_600 + i64::from(j) * DAY;
                o.order(ts, c, cat);
                o.purchase(ts - 200, e, cat);
            }
            people.push((c, e));
        }
        people
    }

    #[test]
    fn orders_find_their_purchases_and_coincidences_do_not_link() {
        let mut g = Graph::default();
        let mut o = Orders::default();
        let people = shop(&mut g, &mut o, 20, |i| 1 + i % 3);
        // A stranger buys shoes 100 s before customer 0's first order, and once more elsewhere.
        let stranger = g.node(Kind::Cookie, "stranger");
        o.purchase(1_700_000_000 - 100, stranger, o.categories["shoes"]);
        o.purchase(1_800_000_000, stranger, o.categories["shoes"]);
        let report = o.link(&mut g);
        assert_eq!((report.orders, report.purchases), (39, 41));
        let linked: Vec<(u32, u32)> = g.links.iter().map(|l| (l.a, l.b)).collect();
        for (i, &(c, e)) in people.iter().enumerate() {
            // Customer 0's single order has two candidates: no single-order link.
            let expect = i != 0;
            assert_eq!(linked.contains(&(c.min(e), c.max(e))), expect, "customer {i}");
        }
        assert!(g.links.iter().all(|l| l.a != stranger && l.b != stranger));
        assert!(g.links.iter().all(|l| l.rule == Rule::OrderMatch));
        let repeated = g.links.iter().filter(|l| l.score == SCORE_REPEATED).count();
        assert_eq!(repeated, report.links_repeated);
        assert_eq!(report.links_repeated, 13, "customers with 2 or 3 orders");
    }

    /// An empty graph and orders, with the nodes of one customer id and one email.
    fn one_customer() -> (Graph, Orders, u32, u32) {
        let mut g = Graph::default();
        let (c, e) = (g.node(Kind::CustomerId, "C"), g.node(Kind::Email, "e"));
        (g, Orders::default(), c, e)
    }

    #[test]
    fn another_category_or_a_late_purchase_is_no_candidate() {
        let (mut g, mut o, c, e) = one_customer();
        let (shoes, toys) = (o.category(Some("Shoes ")), o.category(Some("toys")));
        assert_eq!(o.category(Some("shoes")), shoes);
        assert_eq!(o.category(Some(" ")), NO_CATEGORY);
        o.order(1_000_000, c, shoes);
        o.purchase(1_000_000 - 100, e, toys);
        o.order(2_000_000, c, shoes);
        o.purchase(2_000_000 + AFTER + 1, e, shoes);
        let report = o.link(&mut g);
        assert_eq!(report.orders_with_candidates, 0);
        assert!(g.links.is_empty());
    }

    #[test]
    fn categories_named_otherwise_on_the_web_are_ignored() {
        let (mut g, mut o, c, e) = one_customer();
        let (shoes, web_shoes) = (o.category(Some("Shoes")), o.category(Some("womens-shoes")));
        for ts in [1_000_000, 2_000_000] {
            o.order(ts, c, shoes);
            o.purchase(ts - 60, e, web_shoes);
        }
        let report = o.link(&mut g);
        assert!(!report.categories_compared);
        assert_eq!((report.orders_with_candidates, report.links_repeated), (2, 1));
    }

    #[test]
    fn a_back_office_ahead_by_quarter_hours_is_put_on_the_web_s_clock() {
        let (mut g, mut o) = (Graph::default(), Orders::default());
        let people = shop(&mut g, &mut o, 20, |_| 2);
        for order in &mut o.orders {
            order.0 += 5_400;
        }
        let report = o.link(&mut g);
        assert_eq!(report.clock_offset_secs, -5_400);
        assert_eq!(report.links_repeated, people.len());
        // Nepal's clock, 5:45 ahead: no whole half hour brings its orders within the window.
        let (mut g, mut o) = (Graph::default(), Orders::default());
        let people = shop(&mut g, &mut o, 20, |_| 2);
        for order in &mut o.orders {
            order.0 += 20_700;
        }
        let report = o.link(&mut g);
        assert_eq!((report.clock_offset_secs, report.links_repeated), (-20_700, people.len()));
        // On one clock, nothing is shifted.
        let (mut g, mut o) = (Graph::default(), Orders::default());
        shop(&mut g, &mut o, 20, |_| 2);
        assert_eq!(o.link(&mut g).clock_offset_secs, 0);
    }

    #[test]
    fn channels_and_event_types_are_read_loosely() {
        assert!(is_online(" Online") && is_online("WEB") && !is_online("store"));
        assert!(is_purchase("Purchase") && !is_purchase("page_view"));
    }
}
