//! Lift: how much more (or less) common a trait is in a group of profiles than in a population.
//!
//! Owns the "3.1× more likely to buy shoes" arithmetic behind cluster reports and audience
//! descriptions, computed on the bitmap index without a scan:
//! - a categorical value: share of the group having it over share of the population having it;
//! - a numeric trait whose values are never negative (counts, spend): the same for "value > 0";
//! - an integer trait: also the ratio of means, read from the bit slices (the sum of a group's
//!   values is `Σ 2^i · |slice_i ∩ group|` plus the base).
//!
//! It does not own clustering or segments: it takes bitmaps from them.

use roaring::RoaringBitmap;

use crate::index::{BitmapIndex, CmpOp, TraitKind};

/// One distinctive trait of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Lift {
    /// What the statement is about, e.g. `country = FR` or `purchase.count.shoes_365d > 0`.
    pub condition: String,
    /// Share of the group meeting the condition.
    pub group_share: f64,
    /// Share of the population meeting it.
    pub population_share: f64,
    /// `group_share / population_share`.
    pub lift: f64,
}

impl std::fmt::Display for Lift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.lift >= 1.0 {
            write!(f, "{:.1}× more likely: {}", self.lift, self.condition)?;
        } else {
            write!(f, "{:.1}× less likely: {}", 1.0 / self.lift.max(1e-9), self.condition)?;
        }
        write!(f, " ({:.1}% vs {:.1}%)", 100.0 * self.group_share, 100.0 * self.population_share)
    }
}

/// Mean of an integer trait over `group`, from the bit slices (no scan). `None` when no member
/// of the group has a value.
pub fn int_mean(index: &BitmapIndex, name: &str, group: &RoaringBitmap) -> Option<f64> {
    let t = index.traits.get(name)?;
    if t.kind != TraitKind::Int {
        return None;
    }
    let n = t.bsi.exists.intersection_len(group);
    if n == 0 {
        return None;
    }
    let offsets: f64 = t
        .bsi
        .slices
        .iter()
        .enumerate()
        .map(|(i, s)| (1u128 << i) as f64 * s.intersection_len(group) as f64)
        .sum();
    // key = value ^ 2^63, so value = key - 2^63 = base + offset - 2^63.
    let base_value = (t.bsi.base as i128 - (1i128 << 63)) as f64;
    Some(base_value + offsets / n as f64)
}

/// The `top` most distinctive conditions of `group` within `population`, among the loaded
/// traits, skipping conditions met by fewer than `min_support` of the group. Sorted by lift,
/// highest (most over-represented) first, then by name for a stable order.
pub fn distinctive(
    index: &BitmapIndex,
    group: &RoaringBitmap,
    population: &RoaringBitmap,
    min_support: f64,
    top: usize,
) -> Vec<Lift> {
    let g = group.intersection_len(population) as f64;
    let p = population.len() as f64;
    if g == 0.0 || p == 0.0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut push = |condition: String, members: &RoaringBitmap| {
        let gs = members.intersection_len(group) as f64 / g;
        let ps = members.intersection_len(population) as f64 / p;
        if ps > 0.0 && gs >= min_support && ps < 0.999 {
            out.push(Lift { condition, group_share: gs, population_share: ps, lift: gs / ps });
        }
    };
    let mut names: Vec<&String> = index.traits.keys().collect();
    names.sort();
    for name in names {
        let t = &index.traits[name];
        match t.kind {
            TraitKind::Categorical => {
                for (value, members) in &t.values {
                    push(format!("{name} = {value}"), members);
                }
            }
            _ => {
                let nonneg = t.compare(CmpOp::Lt, 0.0).is_empty();
                if nonneg {
                    push(format!("{name} > 0"), &t.compare(CmpOp::Gt, 0.0));
                }
            }
        }
    }
    out.sort_by(|a, b| b.lift.total_cmp(&a.lift).then_with(|| a.condition.cmp(&b.condition)));
    out.truncate(top);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::ColumnData;

    #[test]
    fn lifts_and_int_means_are_exact() {
        // 10 profiles; the group {0,1,2,3} all buy shoes, only 1 of the other 6 does.
        let shoes = ColumnData::Int(vec![
            Some(2),
            Some(1),
            Some(3),
            Some(2),
            Some(0),
            Some(0),
            Some(5),
            Some(0),
            Some(0),
            Some(0),
        ]);
        let country = ColumnData::Str(
            (0..10).map(|i| Some(if i < 3 { "FR" } else { "DE" }.to_string())).collect(),
        );
        let pids: Vec<u32> = (0..10).collect();
        let index =
            BitmapIndex::build(&[("shoes".into(), &shoes), ("country".into(), &country)], &pids);
        let group: RoaringBitmap = (0..4).collect();
        let lifts = distinctive(&index, &group, &index.universe, 0.0, 10);
        let shoes_lift = lifts.iter().find(|l| l.condition == "shoes > 0").unwrap();
        assert!((shoes_lift.lift - 1.0 / 0.5).abs() < 1e-12, "{shoes_lift:?}");
        let fr = lifts.iter().find(|l| l.condition == "country = FR").unwrap();
        assert!((fr.lift - 0.75 / 0.3).abs() < 1e-12);
        assert_eq!(lifts[0].condition, "country = FR", "strongest lift first");
        assert_eq!(int_mean(&index, "shoes", &group), Some(2.0));
        assert_eq!(int_mean(&index, "shoes", &index.universe), Some(1.3));
        assert!(fr.to_string().starts_with("2.5× more likely: country = FR"));
    }

    #[test]
    fn int_mean_handles_negative_values() {
        let v = ColumnData::Int(vec![Some(-5), Some(3), None]);
        let index = BitmapIndex::build(&[("x".into(), &v)], &[0, 1, 2]);
        assert_eq!(int_mean(&index, "x", &index.universe), Some(-1.0));
    }
}
