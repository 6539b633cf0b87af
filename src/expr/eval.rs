//! Names, types and evaluation of a parsed [`Expr`] over the bitmap index.
//!
//! The order is meilisearch's: first every name is validated ([`check`] against the index
//! manifest and the list of stored segments, then [`check_loaded`] against the loaded traits),
//! and only then is the tree evaluated ([`Evaluator`]), recursively, under a *universe* bitmap:
//! - `and` evaluates its children in order of estimated size, each one only among the pids that
//!   passed the previous ones (a bit-sliced comparison then reads only those pids), and stops
//!   as soon as nothing is left;
//! - `not x` is `universe - x`, where the universe is the running set of the enclosing `and`;
//! - `or` unions its children, each evaluated under the same universe.
//!
//! Leaves that are stored bitmaps (a categorical value, a segment, a `missing` set) are borrowed,
//! never copied; only numeric comparisons and unions allocate.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use roaring::RoaringBitmap;

use super::{Expr, ExprError, Literal, Name, Span, Value};
use crate::import::{PARTY_TRAIT, PROVIDER_TRAIT};
use crate::index::{BitmapIndex, CmpOp, IndexManifest, TraitIndex, TraitKind};
use crate::table::nearest;

/// What an expression reads: the traits to load and the segments to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Needs {
    /// Trait names, including the reserved `party`, `provider` and `consent.*` traits that the
    /// functions read.
    pub traits: BTreeSet<String>,
    /// Segment names.
    pub segments: BTreeSet<String>,
}

/// The trait a consent purpose is stored in: `consent(ads)` reads `consent.ads`.
pub fn consent_trait(purpose: &str) -> String {
    format!("consent.{purpose}")
}

/// The traits and segments `e` names.
pub fn needs(e: &Expr) -> Needs {
    let mut n = Needs::default();
    visit(e, &mut |x| match x {
        Expr::Cmp { name, .. }
        | Expr::Between { name, .. }
        | Expr::In { name, .. }
        | Expr::IsTrue(name)
        | Expr::Exists(name)
        | Expr::Missing(name) => {
            n.traits.insert(name.text.clone());
        }
        Expr::Segment(s) => {
            n.segments.insert(s.text.clone());
        }
        Expr::Party(_) => {
            n.traits.insert(PARTY_TRAIT.into());
        }
        Expr::Provider(_) => {
            n.traits.insert(PROVIDER_TRAIT.into());
        }
        Expr::Consent(p) => {
            n.traits.insert(consent_trait(&p.text));
        }
        Expr::And(_) | Expr::Or(_) | Expr::Not(_) | Expr::All => {}
    });
    n
}

fn visit<'e>(e: &'e Expr, f: &mut impl FnMut(&'e Expr)) {
    f(e);
    match e {
        Expr::And(cs) | Expr::Or(cs) => cs.iter().for_each(|c| visit(c, f)),
        Expr::Not(x) => visit(x, f),
        _ => {}
    }
}

fn kind_word(kind: TraitKind) -> &'static str {
    match kind {
        TraitKind::Categorical => "a text trait",
        TraitKind::Int => "a numeric trait (integers)",
        TraitKind::Float => "a numeric trait (decimals)",
    }
}

fn did_you_mean(name: &str, candidates: &[&str]) -> String {
    nearest(name, candidates).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default()
}

/// Checks every name and type of `e` (parsed from `input`) against the index `manifest` and the
/// stored `segments`, before anything is loaded. The first mistake is returned, with its span.
pub fn check(
    e: &Expr,
    input: &str,
    manifest: &IndexManifest,
    segments: &[&str],
) -> Result<(), ExprError> {
    let mut result = Ok(());
    visit(e, &mut |x| {
        if result.is_ok() {
            result = check_node(x, input, manifest, segments);
        }
    });
    result
}

fn check_node(
    e: &Expr,
    input: &str,
    manifest: &IndexManifest,
    segments: &[&str],
) -> Result<(), ExprError> {
    let err = |span: Span, msg: String| Err(ExprError::new(input, span, msg));
    let trait_kind = |name: &Name| -> Result<TraitKind, ExprError> {
        match manifest.get(&name.text) {
            Some(m) => Ok(m.kind),
            None => Err(ExprError::new(
                input,
                name.span,
                format!(
                    "unknown trait `{}`{}; `audience info` lists the traits of this store",
                    name.text,
                    did_you_mean(&name.text, &manifest.names())
                ),
            )),
        }
    };
    let reserved = |what: &str, trait_name: &str, flag: &str, span: Span| {
        if manifest.get(trait_name).is_some() {
            Ok(())
        } else {
            err(
                span,
                format!(
                    "{what} reads the `{trait_name}` trait, which this store does not have; \
                     import the profile table with {flag} COLUMN"
                ),
            )
        }
    };
    match e {
        Expr::Cmp { name, op, value } => {
            let kind = trait_kind(name)?;
            let span = name.span.to(value.span);
            if kind == TraitKind::Categorical && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                return err(
                    span,
                    format!(
                        "`{name}` is {}: it takes `=`, `!=` and `in`, not `{}`",
                        kind_word(kind),
                        super::op_str(*op)
                    ),
                );
            }
            check_value(input, name, kind, value)
        }
        Expr::Between { name, lo, hi } => {
            let kind = trait_kind(name)?;
            if kind == TraitKind::Categorical {
                return err(
                    name.span.to(hi.span),
                    format!("`{name}` is {}: `between` needs a numeric trait", kind_word(kind)),
                );
            }
            if let (Literal::Num(a), Literal::Num(b)) = (&lo.lit, &hi.lit) {
                if a > b {
                    return err(
                        lo.span.to(hi.span),
                        format!(
                            "the bounds are upside down, so nothing would match; write \
                             `between {b} and {a}`"
                        ),
                    );
                }
            }
            check_value(input, name, kind, lo)?;
            check_value(input, name, kind, hi)
        }
        Expr::In { name, values } => {
            let kind = trait_kind(name)?;
            values.iter().try_for_each(|v| check_value(input, name, kind, v))
        }
        Expr::IsTrue(name) => {
            let kind = trait_kind(name)?;
            if kind != TraitKind::Categorical {
                return err(
                    name.span,
                    format!(
                        "`{name}` is {}, not a boolean; compare it, as in `{name} > 0`",
                        kind_word(kind)
                    ),
                );
            }
            Ok(())
        }
        Expr::Exists(name) | Expr::Missing(name) => trait_kind(name).map(|_| ()),
        Expr::Segment(s) => {
            if segments.contains(&s.text.as_str()) {
                Ok(())
            } else {
                err(
                    s.span,
                    format!(
                        "unknown segment `{}`{}; it may have been deleted: `audience segment list` \
                         lists the stored segments",
                        s.text,
                        did_you_mean(&s.text, segments)
                    ),
                )
            }
        }
        Expr::Party(p) => reserved(&format!("party({p})"), PARTY_TRAIT, "--party", p.span),
        Expr::Provider(p) => {
            reserved(&format!("provider({p})"), PROVIDER_TRAIT, "--provider", p.span)
        }
        Expr::Consent(p) => {
            let t = consent_trait(&p.text);
            if manifest.get(&t).is_some() {
                return Ok(());
            }
            let purposes: Vec<&str> =
                manifest.names().into_iter().filter_map(|n| n.strip_prefix("consent.")).collect();
            let known = if purposes.is_empty() {
                "this store has no consent trait; import with --consent COLUMN".to_string()
            } else {
                format!("this store records consent for: {}", purposes.join(", "))
            };
            err(
                p.span,
                format!(
                    "unknown consent purpose `{}`{}; {known}",
                    p.text,
                    did_you_mean(&p.text, &purposes)
                ),
            )
        }
        Expr::And(_) | Expr::Or(_) | Expr::Not(_) | Expr::All => Ok(()),
    }
}

fn check_value(input: &str, name: &Name, kind: TraitKind, v: &Value) -> Result<(), ExprError> {
    let msg = match (kind, &v.lit) {
        (TraitKind::Categorical, Literal::Num(x)) => format!(
            "`{name}` is {}; compare it with a string: \"{x}\"",
            kind_word(TraitKind::Categorical)
        ),
        (TraitKind::Int | TraitKind::Float, Literal::Str(s)) => format!(
            "`{name}` is {}; compare it with a number, not the string \"{s}\"",
            kind_word(kind)
        ),
        (TraitKind::Int | TraitKind::Float, Literal::Bool(b)) => {
            format!("`{name}` is {}; compare it with a number, not {b}", kind_word(kind))
        }
        _ => return Ok(()),
    };
    Err(ExprError::new(input, v.span, msg))
}

/// The checks that need the loaded traits: a bare trait must be boolean (only `true`/`false`
/// values), and `provider(NAME)` must name a known provider.
pub fn check_loaded(e: &Expr, input: &str, index: &BitmapIndex) -> Result<(), ExprError> {
    let mut result = Ok(());
    visit(e, &mut |x| {
        if result.is_err() {
            return;
        }
        match x {
            Expr::IsTrue(name) => {
                if let Some(t) = index.traits.get(&name.text) {
                    if let Some(v) = t.values.keys().find(|v| *v != "true" && *v != "false") {
                        result = Err(ExprError::new(
                            input,
                            name.span,
                            format!(
                                "`{name}` is a text trait, not a boolean (it holds values such \
                                 as \"{v}\"); compare it, as in `{name} = \"{v}\"`"
                            ),
                        ));
                    }
                }
            }
            Expr::Provider(p) => {
                if let Some(t) = index.traits.get(PROVIDER_TRAIT) {
                    if !t.values.contains_key(&p.text) {
                        let known: Vec<&str> = t.values.keys().map(String::as_str).collect();
                        result = Err(ExprError::new(
                            input,
                            p.span,
                            format!(
                                "unknown provider `{}`{}; the providers are: {}",
                                p.text,
                                did_you_mean(&p.text, &known),
                                known.join(", ")
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    });
    result
}

/// Evaluates checked expressions over a loaded index and the segments they read.
///
/// A name that is not loaded matches nothing (run [`check`] and [`check_loaded`] first to turn
/// that into an error). Evaluation is single-threaded.
pub struct Evaluator<'a> {
    index: &'a BitmapIndex,
    segments: &'a HashMap<String, RoaringBitmap>,
}

fn text_of(lit: &Literal) -> String {
    match lit {
        Literal::Str(s) => s.clone(),
        Literal::Bool(b) => b.to_string(),
        Literal::Num(x) => x.to_string(),
    }
}

fn is_leaf(e: &Expr) -> bool {
    !matches!(e, Expr::And(_) | Expr::Or(_) | Expr::Not(_))
}

impl<'a> Evaluator<'a> {
    /// An evaluator over `index` (with the needed traits loaded) and the needed `segments`.
    pub fn new(index: &'a BitmapIndex, segments: &'a HashMap<String, RoaringBitmap>) -> Self {
        Evaluator { index, segments }
    }

    /// The pids of the index's universe for which `e` holds.
    pub fn eval(&self, e: &Expr) -> RoaringBitmap {
        self.eval_in(e, &self.index.universe)
    }

    /// How many pids `e` holds for: like `eval(e).len()`, but the last step of a top-level
    /// `and` only counts (`intersection_len`) instead of building the result.
    pub fn count(&self, e: &Expr) -> u64 {
        let Expr::And(cs) = e else { return self.eval(e).len() };
        let order = self.order(cs, self.index.universe.len());
        let Some((last, init)) = order.split_last() else { return self.eval(e).len() };
        let mut acc = self.index.universe.clone();
        for c in init {
            if acc.is_empty() {
                return 0;
            }
            self.narrow(&mut acc, c);
        }
        match last {
            Expr::Not(x) => match self.stored(x) {
                Some(b) => acc.len() - acc.intersection_len(b),
                None => {
                    self.narrow(&mut acc, last);
                    acc.len()
                }
            },
            _ => match self.stored(last) {
                Some(b) => acc.intersection_len(b),
                None => {
                    self.narrow(&mut acc, last);
                    acc.len()
                }
            },
        }
    }

    fn trait_(&self, name: &str) -> Option<&'a TraitIndex> {
        self.index.traits.get(name)
    }

    fn value_of(&self, trait_name: &str, value: &str) -> Option<&'a RoaringBitmap> {
        self.trait_(trait_name)?.values.get(value)
    }

    /// A leaf whose answer is a stored bitmap, borrowed as it is (not restricted to any
    /// universe). `None` for computed leaves and for inner nodes.
    fn stored(&self, e: &Expr) -> Option<&'a RoaringBitmap> {
        static EMPTY: std::sync::OnceLock<RoaringBitmap> = std::sync::OnceLock::new();
        let empty = || EMPTY.get_or_init(RoaringBitmap::new);
        let b = match e {
            Expr::Cmp { name, op: CmpOp::Eq, value } => {
                let t = self.trait_(&name.text)?;
                if t.kind != TraitKind::Categorical {
                    return None;
                }
                t.values.get(&text_of(&value.lit))
            }
            Expr::IsTrue(name) => self.value_of(&name.text, "true"),
            Expr::Missing(name) => Some(&self.trait_(&name.text)?.missing),
            Expr::Exists(name) => {
                let t = self.trait_(&name.text)?;
                if t.kind == TraitKind::Categorical {
                    return None;
                }
                Some(&t.bsi.exists)
            }
            Expr::Segment(s) => self.segments.get(&s.text),
            Expr::Party(p) => self.value_of(PARTY_TRAIT, &p.text),
            Expr::Provider(p) => self.value_of(PROVIDER_TRAIT, &p.text),
            Expr::Consent(p) => self.value_of(&consent_trait(&p.text), "true"),
            Expr::All => Some(&self.index.universe),
            _ => return None,
        };
        Some(b.unwrap_or_else(empty))
    }

    /// A leaf's pids. A borrowed answer is unrestricted; an owned one is already within
    /// `within`.
    fn leaf(&self, e: &Expr, within: &RoaringBitmap) -> Cow<'a, RoaringBitmap> {
        if let Some(b) = self.stored(e) {
            return Cow::Borrowed(b);
        }
        let empty = || Cow::Owned(RoaringBitmap::new());
        let union_within = |bitmaps: &mut dyn Iterator<Item = &RoaringBitmap>| {
            let mut out = RoaringBitmap::new();
            for b in bitmaps {
                out |= b;
            }
            out &= within;
            Cow::Owned(out)
        };
        match e {
            Expr::Cmp { name, op, value } => {
                let Some(t) = self.trait_(&name.text) else { return empty() };
                match (t.kind, &value.lit) {
                    (TraitKind::Categorical, lit) => {
                        // Only `!=` reaches here (`=` is stored): every other value.
                        let v = text_of(lit);
                        if *op != CmpOp::Ne {
                            return empty();
                        }
                        union_within(&mut t.values.iter().filter(|(k, _)| **k != v).map(|x| x.1))
                    }
                    (_, Literal::Num(x)) => Cow::Owned(t.compare_within(*op, *x, within)),
                    _ => empty(),
                }
            }
            Expr::Between { name, lo, hi } => {
                let Some(t) = self.trait_(&name.text) else { return empty() };
                match (&lo.lit, &hi.lit) {
                    (Literal::Num(a), Literal::Num(b)) if t.kind != TraitKind::Categorical => {
                        Cow::Owned(t.between_within(*a, *b, within))
                    }
                    _ => empty(),
                }
            }
            Expr::In { name, values } => {
                let Some(t) = self.trait_(&name.text) else { return empty() };
                if t.kind == TraitKind::Categorical {
                    let texts: BTreeSet<String> = values.iter().map(|v| text_of(&v.lit)).collect();
                    union_within(&mut texts.iter().filter_map(|v| t.values.get(v)))
                } else {
                    let mut out = RoaringBitmap::new();
                    for v in values {
                        if let Literal::Num(x) = v.lit {
                            out |= t.compare_within(CmpOp::Eq, x, within);
                        }
                    }
                    Cow::Owned(out)
                }
            }
            Expr::Exists(name) => match self.trait_(&name.text) {
                Some(t) => union_within(&mut t.values.values()),
                None => empty(),
            },
            _ => empty(),
        }
    }

    /// The pids of `within` for which `e` holds.
    fn eval_in(&self, e: &Expr, within: &RoaringBitmap) -> RoaringBitmap {
        match e {
            Expr::And(cs) => {
                let mut acc = within.clone();
                for c in self.order(cs, within.len()) {
                    if acc.is_empty() {
                        break;
                    }
                    self.narrow(&mut acc, c);
                }
                acc
            }
            Expr::Or(cs) => {
                // Stored leaves are unioned first and restricted once at the end.
                let mut raw = RoaringBitmap::new();
                let mut out = RoaringBitmap::new();
                for c in cs {
                    match self.stored(c) {
                        Some(b) => raw |= b,
                        None => out |= self.eval_in(c, within),
                    }
                }
                raw &= within;
                out | raw
            }
            Expr::Not(x) => within - self.eval_in(x, within),
            _ => match self.leaf(e, within) {
                Cow::Borrowed(b) => b & within,
                Cow::Owned(b) => b,
            },
        }
    }

    /// `acc &= c`, computing `c` only among the pids of `acc`.
    fn narrow(&self, acc: &mut RoaringBitmap, c: &Expr) {
        match c {
            Expr::And(cs) => {
                for c in self.order(cs, acc.len()) {
                    if acc.is_empty() {
                        return;
                    }
                    self.narrow(acc, c);
                }
            }
            Expr::Not(x) if is_leaf(x) => match self.leaf(x, acc) {
                Cow::Borrowed(b) => *acc -= b,
                Cow::Owned(b) => *acc -= b,
            },
            Expr::Not(x) => {
                let r = self.eval_in(x, acc);
                *acc -= r;
            }
            Expr::Or(_) => *acc = self.eval_in(c, acc),
            _ => match self.leaf(c, acc) {
                Cow::Borrowed(b) => *acc &= b,
                Cow::Owned(b) => *acc = b,
            },
        }
    }

    /// The children of an `and`, smallest expected result first: stored leaves by their size,
    /// negated stored leaves by the size of what they keep, then computed leaves (which get
    /// cheaper as the running set shrinks), then inner nodes, each group in written order.
    fn order<'e>(&self, cs: &'e [Expr], n: u64) -> Vec<&'e Expr> {
        let estimate = |e: &Expr| match e {
            Expr::Not(x) => match self.stored(x) {
                Some(b) => n.saturating_sub(b.len()),
                None => u64::MAX,
            },
            Expr::And(_) | Expr::Or(_) => u64::MAX,
            _ => match self.stored(e) {
                Some(b) => b.len(),
                None => u64::MAX - 1,
            },
        };
        let mut keyed: Vec<(u64, &Expr)> = cs.iter().map(|c| (estimate(c), c)).collect();
        keyed.sort_by_key(|k| k.0);
        keyed.into_iter().map(|k| k.1).collect()
    }
}
