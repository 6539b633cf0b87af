//! Per-profile accumulation of events into trait columns.
//!
//! Owns the arithmetic of the event traits (purchases, web, e-mail, ads). Events arrive already
//! resolved to a pid and an age in days (see [`super`]); they are grouped by pid shard (65,536
//! pids, one roaring container) with a stable counting sort, so each shard is accumulated on its
//! own, in parallel, into flat per-pid arrays, in the rows' file order (sums are therefore exactly
//! the sums a plain loop over the file gives). Each shard then turns its arrays into trait columns,
//! which are concatenated in shard order.
//!
//! Window rule: an event of age `a` days (as-of day minus the event's UTC day) is in window `W`
//! when `0 <= a < W`; events after the as-of day (`a < 0`) are dropped before they get here.
//!
//! It does not read sources, resolve keys, or write the store.

use rayon::prelude::*;

use crate::index::Pid;
use crate::table::ColumnData;

use super::catalog::HALF_LIFE_DAYS;

/// Pids per shard.
pub const SHARD: usize = 1 << 16;

/// "No category / campaign" code.
pub const NONE: u32 = u32::MAX;

/// A purchase (a receipt row).
#[derive(Debug, Clone, Copy)]
pub struct Purchase {
    /// Profile.
    pub pid: Pid,
    /// Age in days.
    pub age: i32,
    /// Category (index into the purchase categories) or [`NONE`].
    pub cat: u32,
    /// Made online.
    pub online: bool,
    /// Amount in EUR.
    pub amount: f64,
}

/// What a web event is, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebKind {
    /// `page_view`.
    PageView,
    /// `add_to_cart`.
    Cart,
    /// Anything else (login, purchase, newsletter sign-up).
    Other,
}

/// A web event.
#[derive(Debug, Clone, Copy)]
pub struct WebEvent {
    /// Profile.
    pub pid: Pid,
    /// Age in days.
    pub age: i32,
    /// Kind.
    pub kind: WebKind,
    /// Category (index into the web categories) or [`NONE`].
    pub cat: u32,
    /// Session code or [`NONE`].
    pub session: u32,
}

/// An e-mail or ad event: a campaign and whether it is a click (else an open / impression).
#[derive(Debug, Clone, Copy)]
pub struct CampaignEvent {
    /// Profile.
    pub pid: Pid,
    /// Age in days.
    pub age: i32,
    /// Campaign index.
    pub campaign: u32,
    /// A click (else an open or an impression).
    pub click: bool,
}

/// Everything the accumulation needs.
#[derive(Debug, Default)]
pub struct Events {
    /// Receipts.
    pub purchases: Vec<Purchase>,
    /// Purchase category names (already name parts), indexed by [`Purchase::cat`].
    pub purchase_cats: Vec<String>,
    /// Web events.
    pub web: Vec<WebEvent>,
    /// Web category names.
    pub web_cats: Vec<String>,
    /// E-mail events.
    pub email: Vec<CampaignEvent>,
    /// Number of distinct e-mail campaigns (the denominator of the rates).
    pub email_campaigns: usize,
    /// Pids that have an e-mail (their rates are defined).
    pub has_email: Vec<bool>,
    /// Ad exposures.
    pub ads: Vec<CampaignEvent>,
    /// Ad campaign names.
    pub ad_campaigns: Vec<String>,
}

fn group<T: Copy + Send>(
    events: &[T],
    pid: impl Fn(&T) -> Pid,
    shards: usize,
) -> (Vec<T>, Vec<usize>) {
    let mut offsets = vec![0usize; shards + 1];
    for e in events {
        offsets[pid(e) as usize / SHARD + 1] += 1;
    }
    for s in 0..shards {
        offsets[s + 1] += offsets[s];
    }
    let mut next = offsets.clone();
    let mut out: Vec<T> = Vec::with_capacity(events.len());
    let spare = out.spare_capacity_mut();
    for e in events {
        let s = pid(e) as usize / SHARD;
        spare[next[s]].write(*e);
        next[s] += 1;
    }
    // SAFETY: every slot below events.len() was written exactly once above (the offsets
    // partition 0..len and each event advances its shard's cursor within its range).
    unsafe { out.set_len(events.len()) };
    (out, offsets)
}

/// Computes the event trait columns for pids `0..n`, in catalogue order.
///
/// The columns are allocated once at their full length and each shard writes its rows into them
/// as soon as it is done: only the shards in flight exist twice, never the whole table (on a
/// resolved store of millions of profiles, the columns are gigabytes).
pub fn compute(ev: &Events, n: usize, windows: &[u32]) -> Vec<(String, ColumnData)> {
    let shards = n.div_ceil(SHARD);
    let (purchases, po) = group(&ev.purchases, |e| e.pid, shards);
    let (web, wo) = group(&ev.web, |e| e.pid, shards);
    let (email, eo) = group(&ev.email, |e| e.pid, shards);
    let (ads, ao) = group(&ev.ads, |e| e.pid, shards);
    // The columns' names and types are those of a shard of no rows.
    let mut out: Vec<(String, ColumnData)> = Shard::new(0, windows, ev)
        .finish(ev, &[])
        .into_iter()
        .map(|(name, c)| (name, missing_like(&c, n)))
        .collect();
    // Every shard's rows of every column, as disjoint mutable slices.
    let mut views: Vec<Vec<Rows<'_>>> =
        (0..shards).map(|_| Vec::with_capacity(out.len())).collect();
    for (_, col) in out.iter_mut() {
        macro_rules! split {
            ($v:expr, $variant:ident) => {
                for (view, rows) in views.iter_mut().zip($v.chunks_mut(SHARD)) {
                    view.push(Rows::$variant(rows));
                }
            };
        }
        match col {
            ColumnData::Bool(v) => split!(v, Bool),
            ColumnData::Int(v) => split!(v, Int),
            ColumnData::Float(v) => split!(v, Float),
            ColumnData::Str(v) => split!(v, Str),
        }
    }
    views.into_par_iter().enumerate().for_each(|(s, mut view)| {
        let base = s * SHARD;
        let len = SHARD.min(n - base);
        let mut acc = Shard::new(len, windows, ev);
        acc.purchases(&purchases[po[s]..po[s + 1]], base);
        acc.web(&web[wo[s]..wo[s + 1]], base);
        acc.email(&email[eo[s]..eo[s + 1]], base);
        acc.ads(&ads[ao[s]..ao[s + 1]], base);
        let piece = acc.finish(ev, &ev.has_email[base..base + len]);
        assert_eq!(piece.len(), view.len(), "every shard computes the same columns");
        for (rows, (_, data)) in view.iter_mut().zip(piece) {
            rows.fill(data);
        }
    });
    out
}

/// A column of `n` missing values of the type of `c`.
fn missing_like(c: &ColumnData, n: usize) -> ColumnData {
    match c {
        ColumnData::Bool(_) => ColumnData::Bool(vec![None; n]),
        ColumnData::Int(_) => ColumnData::Int(vec![None; n]),
        ColumnData::Float(_) => ColumnData::Float(vec![None; n]),
        ColumnData::Str(_) => ColumnData::Str(vec![None; n]),
    }
}

/// One shard's rows of a column.
enum Rows<'a> {
    Bool(&'a mut [Option<bool>]),
    Int(&'a mut [Option<i64>]),
    Float(&'a mut [Option<f64>]),
    Str(&'a mut [Option<String>]),
}

impl Rows<'_> {
    /// Moves a shard's computed column into its rows.
    fn fill(&mut self, data: ColumnData) {
        fn put<T>(rows: &mut [T], v: Vec<T>) {
            assert_eq!(rows.len(), v.len(), "a shard computes one value per row");
            for (r, x) in rows.iter_mut().zip(v) {
                *r = x;
            }
        }
        match (self, data) {
            (Rows::Bool(r), ColumnData::Bool(v)) => put(r, v),
            (Rows::Int(r), ColumnData::Int(v)) => put(r, v),
            (Rows::Float(r), ColumnData::Float(v)) => put(r, v),
            (Rows::Str(r), ColumnData::Str(v)) => put(r, v),
            _ => unreachable!("every shard computes the columns of the empty shard, in order"),
        }
    }
}

/// Accumulators of one shard: flat arrays, `[k * len + local]` for per-window (k) or
/// per-category/campaign arrays.
struct Shard<'a> {
    len: usize,
    windows: &'a [u32],
    last: Vec<i32>,
    first: Vec<i32>,
    count: Vec<u32>,
    spend: Vec<f64>,
    online: Vec<u32>,
    freq: Vec<u32>,
    monetary: Vec<f64>,
    prev: Vec<f64>,
    cat_count: Vec<u32>,
    cat_spend: Vec<f64>,
    web_last: Vec<i32>,
    pageviews: Vec<u32>,
    sessions: Vec<u32>,
    carts: Vec<u32>,
    pv_decay: Vec<f64>,
    sess_decay: Vec<f64>,
    opened: Vec<u32>,
    clicked: Vec<u32>,
    opens: Vec<u32>,
    clicks: Vec<u32>,
    ad_imp: Vec<u32>,
    ad_clk: Vec<u32>,
}

fn decay(age: i32) -> f64 {
    0.5f64.powf(f64::from(age) / HALF_LIFE_DAYS)
}

impl<'a> Shard<'a> {
    fn new(len: usize, windows: &'a [u32], ev: &Events) -> Self {
        let k = windows.len();
        let pc = ev.purchase_cats.len();
        Shard {
            len,
            windows,
            last: vec![i32::MAX; len],
            first: vec![-1; len],
            count: vec![0; len],
            spend: vec![0.0; len],
            online: vec![0; len],
            freq: vec![0; k * len],
            monetary: vec![0.0; k * len],
            prev: vec![0.0; k * len],
            cat_count: vec![0; k * pc * len],
            cat_spend: vec![0.0; k * pc * len],
            web_last: vec![i32::MAX; len],
            pageviews: vec![0; k * len],
            sessions: vec![0; k * len],
            carts: vec![0; k * len],
            pv_decay: vec![0.0; ev.web_cats.len() * len],
            sess_decay: vec![0.0; ev.web_cats.len() * len],
            opened: vec![0; len],
            clicked: vec![0; len],
            opens: vec![0; k * len],
            clicks: vec![0; k * len],
            ad_imp: vec![0; ev.ad_campaigns.len() * len],
            ad_clk: vec![0; ev.ad_campaigns.len() * len],
        }
    }

    fn purchases(&mut self, rows: &[Purchase], base: usize) {
        let len = self.len;
        let pc = self.cat_count.len() / (len * self.windows.len()).max(1);
        for r in rows {
            let i = r.pid as usize - base;
            self.last[i] = self.last[i].min(r.age);
            self.first[i] = self.first[i].max(r.age);
            self.count[i] += 1;
            self.spend[i] += r.amount;
            self.online[i] += u32::from(r.online);
            for (k, &w) in self.windows.iter().enumerate() {
                let w = w as i32;
                if r.age < w {
                    self.freq[k * len + i] += 1;
                    self.monetary[k * len + i] += r.amount;
                    if r.cat != NONE {
                        let j = (k * pc + r.cat as usize) * len + i;
                        self.cat_count[j] += 1;
                        self.cat_spend[j] += r.amount;
                    }
                } else if r.age < 2 * w {
                    self.prev[k * len + i] += r.amount;
                }
            }
        }
    }

    fn web(&mut self, rows: &[WebEvent], base: usize) {
        let len = self.len;
        // (local pid, session, category or NONE, age) of the rows with a session.
        let mut sess: Vec<(u32, u32, u32, i32)> = Vec::new();
        for r in rows {
            let i = r.pid as usize - base;
            self.web_last[i] = self.web_last[i].min(r.age);
            for (k, &w) in self.windows.iter().enumerate() {
                if r.age < w as i32 {
                    match r.kind {
                        WebKind::PageView => self.pageviews[k * len + i] += 1,
                        WebKind::Cart => self.carts[k * len + i] += 1,
                        WebKind::Other => {}
                    }
                }
            }
            let cat = if r.kind == WebKind::PageView { r.cat } else { NONE };
            if cat != NONE {
                self.pv_decay[cat as usize * len + i] += decay(r.age);
            }
            if r.session != NONE {
                sess.push((i as u32, r.session, cat, r.age));
            }
        }
        sess.sort_unstable();
        let mut a = 0;
        while a < sess.len() {
            let (i, s) = (sess[a].0, sess[a].1);
            let mut b = a;
            let mut youngest = i32::MAX;
            while b < sess.len() && sess[b].0 == i && sess[b].1 == s {
                youngest = youngest.min(sess[b].3);
                b += 1;
            }
            for (k, &w) in self.windows.iter().enumerate() {
                if youngest < w as i32 {
                    self.sessions[k * len + i as usize] += 1;
                }
            }
            // Per category within the session: the age of its youngest page view there.
            let mut c = a;
            while c < b {
                let cat = sess[c].2;
                let mut d = c;
                let mut age = i32::MAX;
                while d < b && sess[d].2 == cat {
                    age = age.min(sess[d].3);
                    d += 1;
                }
                if cat != NONE {
                    self.sess_decay[cat as usize * len + i as usize] += decay(age);
                }
                c = d;
            }
            a = b;
        }
    }

    fn email(&mut self, rows: &[CampaignEvent], base: usize) {
        let len = self.len;
        let mut distinct: Vec<(u32, u32, bool)> = Vec::with_capacity(rows.len());
        for r in rows {
            let i = r.pid as usize - base;
            for (k, &w) in self.windows.iter().enumerate() {
                if r.age < w as i32 {
                    if r.click {
                        self.clicks[k * len + i] += 1;
                    } else {
                        self.opens[k * len + i] += 1;
                    }
                }
            }
            distinct.push((i as u32, r.campaign, r.click));
        }
        distinct.sort_unstable();
        distinct.dedup();
        for (i, _, click) in distinct {
            if click {
                self.clicked[i as usize] += 1;
            } else {
                self.opened[i as usize] += 1;
            }
        }
    }

    fn ads(&mut self, rows: &[CampaignEvent], base: usize) {
        let len = self.len;
        for r in rows {
            let j = r.campaign as usize * len + r.pid as usize - base;
            if r.click {
                self.ad_clk[j] += 1;
            } else {
                self.ad_imp[j] += 1;
            }
        }
    }

    fn finish(self, ev: &Events, has_email: &[bool]) -> Vec<(String, ColumnData)> {
        let len = self.len;
        let mut out: Vec<(String, ColumnData)> = Vec::new();
        let int = |v: &[u32]| ColumnData::Int(v.iter().map(|&x| Some(i64::from(x))).collect());
        let float = |v: &[f64]| ColumnData::Float(v.iter().map(|&x| Some(x)).collect());
        let ratio = |num: &dyn Fn(usize) -> f64, den: &dyn Fn(usize) -> f64| {
            ColumnData::Float(
                (0..len)
                    .map(|i| {
                        let d = den(i);
                        (d > 0.0).then(|| num(i) / d)
                    })
                    .collect(),
            )
        };
        let ages = |v: &[i32], none: i32| {
            ColumnData::Int(v.iter().map(|&a| (a != none).then_some(i64::from(a))).collect())
        };
        let win = |k: usize| k * len..(k + 1) * len;
        let has = !ev.purchases.is_empty();
        if has {
            out.push(("purchase.recency_days".into(), ages(&self.last, i32::MAX)));
            out.push(("purchase.tenure_days".into(), ages(&self.first, -1)));
            out.push(("purchase.frequency".into(), int(&self.count)));
            out.push(("purchase.monetary".into(), float(&self.spend)));
            out.push((
                "purchase.basket".into(),
                ratio(&|i| self.spend[i], &|i| f64::from(self.count[i])),
            ));
            out.push((
                "channel.online_share".into(),
                ratio(&|i| f64::from(self.online[i]), &|i| f64::from(self.count[i])),
            ));
            let pc = ev.purchase_cats.len();
            for (k, w) in self.windows.iter().enumerate() {
                let r = win(k);
                out.push((format!("purchase.frequency_{w}d"), int(&self.freq[r.clone()])));
                out.push((format!("purchase.monetary_{w}d"), float(&self.monetary[r.clone()])));
                let o = k * len;
                out.push((
                    format!("purchase.basket_{w}d"),
                    ratio(&|i| self.monetary[o + i], &|i| f64::from(self.freq[o + i])),
                ));
                let trend = (0..len)
                    .map(|i| {
                        let (last, prev) = (self.monetary[o + i], self.prev[o + i]);
                        (last + prev > 0.0).then(|| (last - prev) / (last + prev))
                    })
                    .collect();
                out.push((format!("purchase.trend_{w}d"), ColumnData::Float(trend)));
                for (c, name) in ev.purchase_cats.iter().enumerate() {
                    let r = (k * pc + c) * len..(k * pc + c + 1) * len;
                    out.push((
                        format!("purchase.count.{name}_{w}d"),
                        int(&self.cat_count[r.clone()]),
                    ));
                    out.push((format!("purchase.spend.{name}_{w}d"), float(&self.cat_spend[r])));
                }
            }
        }
        if !ev.web.is_empty() {
            out.push(("web.days_since_visit".into(), ages(&self.web_last, i32::MAX)));
            for (k, w) in self.windows.iter().enumerate() {
                out.push((format!("web.pageviews_{w}d"), int(&self.pageviews[win(k)])));
                out.push((format!("web.sessions_{w}d"), int(&self.sessions[win(k)])));
                out.push((format!("web.carts_{w}d"), int(&self.carts[win(k)])));
            }
            for (c, name) in ev.web_cats.iter().enumerate() {
                out.push((format!("web.pageviews.{name}_decay"), float(&self.pv_decay[win(c)])));
                out.push((format!("web.sessions.{name}_decay"), float(&self.sess_decay[win(c)])));
            }
        }
        if ev.email_campaigns > 0 {
            let n = ev.email_campaigns as f64;
            let rate = |v: &[u32]| {
                ColumnData::Float(
                    (0..len).map(|i| has_email[i].then(|| f64::from(v[i]) / n)).collect(),
                )
            };
            out.push(("email.open_rate".into(), rate(&self.opened)));
            out.push(("email.click_rate".into(), rate(&self.clicked)));
            for (k, w) in self.windows.iter().enumerate() {
                out.push((format!("email.opens_{w}d"), int(&self.opens[win(k)])));
                out.push((format!("email.clicks_{w}d"), int(&self.clicks[win(k)])));
            }
        }
        if !ev.ad_campaigns.is_empty() {
            let m = ev.ad_campaigns.len();
            let total = |v: &[u32]| -> Vec<u32> {
                (0..len).map(|i| (0..m).map(|c| v[c * len + i]).sum()).collect()
            };
            let (imp, clk) = (total(&self.ad_imp), total(&self.ad_clk));
            out.push(("ad.impressions".into(), int(&imp)));
            out.push(("ad.clicks".into(), int(&clk)));
            out.push(("ad.ctr".into(), ratio(&|i| f64::from(clk[i]), &|i| f64::from(imp[i]))));
            for (c, name) in ev.ad_campaigns.iter().enumerate() {
                let (ci, cc) = (&self.ad_imp[win(c)], &self.ad_clk[win(c)]);
                out.push((format!("ad.impressions.{name}"), int(ci)));
                out.push((format!("ad.clicks.{name}"), int(cc)));
                out.push((
                    format!("ad.ctr.{name}"),
                    ratio(&|i| f64::from(cc[i]), &|i| f64::from(ci[i])),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: Pid, age: i32, cat: u32, online: bool, amount: f64) -> Purchase {
        Purchase { pid, age, cat, online, amount }
    }

    fn col<'a>(cols: &'a [(String, ColumnData)], name: &str) -> &'a ColumnData {
        &cols.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name}")).1
    }

    #[test]
    fn purchases_windows_trend_and_categories() {
        let ev = Events {
            purchases: vec![
                p(0, 0, 0, true, 10.0),
                p(0, 29, 1, false, 20.0),
                p(0, 30, 1, false, 40.0), // exactly 30 days old: out of the 30-day window
                p(2, 59, NONE, false, 5.0),
            ],
            purchase_cats: vec!["books".into(), "shoes".into()],
            has_email: vec![false; 3],
            ..Default::default()
        };
        let cols = compute(&ev, 3, &[30]);
        assert_eq!(
            *col(&cols, "purchase.recency_days"),
            ColumnData::Int(vec![Some(0), None, Some(59)])
        );
        assert_eq!(
            *col(&cols, "purchase.frequency_30d"),
            ColumnData::Int(vec![Some(2), Some(0), Some(0)])
        );
        assert_eq!(
            *col(&cols, "purchase.monetary_30d"),
            ColumnData::Float(vec![Some(30.0), Some(0.0), Some(0.0)])
        );
        assert_eq!(
            *col(&cols, "purchase.monetary"),
            ColumnData::Float(vec![Some(70.0), Some(0.0), Some(5.0)])
        );
        // trend: (30 - 40) / 70 for pid 0; pid 2 only in the window before: -1.
        assert_eq!(
            *col(&cols, "purchase.trend_30d"),
            ColumnData::Float(vec![Some(-10.0 / 70.0), None, Some(-1.0)])
        );
        assert_eq!(
            *col(&cols, "purchase.spend.shoes_30d"),
            ColumnData::Float(vec![Some(20.0), Some(0.0), Some(0.0)])
        );
        assert_eq!(
            *col(&cols, "channel.online_share"),
            ColumnData::Float(vec![Some(1.0 / 3.0), None, Some(0.0)])
        );
        assert_eq!(
            *col(&cols, "purchase.basket"),
            ColumnData::Float(vec![Some(70.0 / 3.0), None, Some(5.0)])
        );
    }

    #[test]
    fn web_decay_sessions_email_and_ads() {
        let w = |pid, age, kind, cat, session| WebEvent { pid, age, kind, cat, session };
        let ce = |pid, age, campaign, click| CampaignEvent { pid, age, campaign, click };
        let ev = Events {
            web: vec![
                w(1, 0, WebKind::PageView, 0, 7),
                w(1, 30, WebKind::PageView, 0, 8),
                w(1, 30, WebKind::PageView, 0, 8),
                w(1, 31, WebKind::Cart, NONE, 8),
            ],
            web_cats: vec!["shoes".into()],
            email: vec![
                ce(0, 1, 0, false),
                ce(0, 1, 0, false),
                ce(0, 2, 0, true),
                ce(0, 3, 1, false),
            ],
            email_campaigns: 4,
            has_email: vec![true, false],
            ads: vec![ce(1, 0, 0, false), ce(1, 0, 0, false), ce(1, 0, 0, true)],
            ad_campaigns: vec!["spring".into()],
            ..Default::default()
        };
        let cols = compute(&ev, 2, &[30]);
        // Page views: 1 + 0.5 + 0.5; sessions: session 7 (age 0) and 8 (youngest view 30).
        assert_eq!(
            *col(&cols, "web.pageviews.shoes_decay"),
            ColumnData::Float(vec![Some(0.0), Some(2.0)])
        );
        assert_eq!(
            *col(&cols, "web.sessions.shoes_decay"),
            ColumnData::Float(vec![Some(0.0), Some(1.5)])
        );
        assert_eq!(*col(&cols, "web.sessions_30d"), ColumnData::Int(vec![Some(0), Some(1)]));
        assert_eq!(*col(&cols, "web.pageviews_30d"), ColumnData::Int(vec![Some(0), Some(1)]));
        assert_eq!(*col(&cols, "web.days_since_visit"), ColumnData::Int(vec![None, Some(0)]));
        assert_eq!(*col(&cols, "email.open_rate"), ColumnData::Float(vec![Some(0.5), None]));
        assert_eq!(*col(&cols, "email.click_rate"), ColumnData::Float(vec![Some(0.25), None]));
        assert_eq!(*col(&cols, "email.opens_30d"), ColumnData::Int(vec![Some(3), Some(0)]));
        assert_eq!(*col(&cols, "ad.ctr.spring"), ColumnData::Float(vec![None, Some(0.5)]));
        assert_eq!(*col(&cols, "ad.impressions"), ColumnData::Int(vec![Some(0), Some(2)]));
    }

    #[test]
    fn shards_concatenate_in_pid_order() {
        let n = SHARD + 10;
        let ev = Events {
            purchases: vec![p(SHARD as Pid + 3, 1, NONE, false, 2.0), p(5, 1, NONE, false, 1.0)],
            has_email: vec![false; n],
            ..Default::default()
        };
        let cols = compute(&ev, n, &[30]);
        let ColumnData::Float(m) = col(&cols, "purchase.monetary") else { panic!() };
        assert_eq!(m.len(), n);
        assert_eq!((m[5], m[SHARD + 3], m[6]), (Some(1.0), Some(2.0), Some(0.0)));
    }
}
