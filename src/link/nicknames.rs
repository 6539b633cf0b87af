//! English given names and their usual diminutives (`Robert`: Bob, Bobby, Rob, Robbie, Bert),
//! so that a name comparison can tell `kathy` / `catherine` from two strangers' names.
//!
//! Owns the table and [`groups`], the formal names a given name is or may stand for, as bit
//! sets. Two names are alike ([`alike`]) when one is a formal name the other is a diminutive of;
//! two diminutives of one formal name (`bob` / `rob`) are not. Only whole single-word names are
//! looked up, lowercase ASCII as [`super::compare`] normalises names.
//!
//! It does not own how the likeness is weighed: a name comparison puts alike names at its
//! near-identical level ([`super::compare::Kind::Name`]), whose m and u are trained like the
//! others'.

use std::sync::OnceLock;

use crate::hash::FxHashMap;

/// Formal names and their diminutives; variant spellings of a formal name are groups of their
/// own that share its diminutives (`catherine`, `katherine`, `kathryn`).
const TABLE: &[(&str, &[&str])] = &[
    ("abigail", &["abby", "abbie", "gail"]),
    ("albert", &["al", "bert", "bertie"]),
    ("alexander", &["alex", "alec", "sandy", "xander"]),
    ("alexandra", &["alex", "alexa", "sandra", "sandy", "lexi"]),
    ("alfred", &["alf", "alfie", "fred", "freddie"]),
    ("amanda", &["mandy", "manda"]),
    ("andrew", &["andy", "drew"]),
    ("angela", &["angie"]),
    ("anthony", &["tony"]),
    ("antonio", &["tony"]),
    ("arthur", &["art", "artie"]),
    ("barbara", &["barb", "barbie", "babs"]),
    ("benjamin", &["ben", "benny", "benji"]),
    ("bernard", &["bernie"]),
    ("bradley", &["brad"]),
    ("caroline", &["carol", "carrie", "caro"]),
    ("carolyn", &["carol", "carrie"]),
    ("catherine", &["cathy", "kate", "kathy", "katie", "kitty", "cat", "cath"]),
    ("katherine", &["kathy", "kate", "katie", "kitty", "kat", "kath", "kay"]),
    ("kathryn", &["kathy", "kate", "katie", "kat", "kay"]),
    ("charles", &["charlie", "chuck", "chas", "chaz"]),
    ("christina", &["chris", "tina", "chrissy", "christy"]),
    ("christine", &["chris", "tina", "chrissy", "christy"]),
    ("christopher", &["chris", "kit", "topher"]),
    ("clifford", &["cliff"]),
    ("cynthia", &["cindy"]),
    ("daniel", &["dan", "danny"]),
    ("david", &["dave", "davey", "davy"]),
    ("deborah", &["deb", "debbie", "debby"]),
    ("debra", &["deb", "debbie", "debby"]),
    ("dennis", &["denny"]),
    ("donald", &["don", "donnie"]),
    ("dorothy", &["dot", "dottie", "dolly"]),
    ("douglas", &["doug"]),
    ("edward", &["ed", "eddie", "eddy", "ted", "teddy", "ned"]),
    ("edwin", &["ed", "eddie"]),
    ("eleanor", &["ellie", "nell", "nora"]),
    ("elizabeth", &["liz", "lizzie", "beth", "betty", "betsy", "bess", "eliza", "libby", "lisa"]),
    ("eugene", &["gene"]),
    ("frances", &["fran", "frannie"]),
    ("francis", &["frank", "fran"]),
    ("franklin", &["frank"]),
    ("frederick", &["fred", "freddie", "freddy"]),
    ("gerald", &["gerry", "jerry"]),
    ("geoffrey", &["geoff", "jeff"]),
    ("jeffrey", &["jeff"]),
    ("gregory", &["greg"]),
    ("harold", &["harry", "hal"]),
    ("henry", &["harry", "hank", "hal"]),
    ("isabella", &["bella", "izzy", "isa"]),
    ("isabel", &["bella", "izzy", "isa"]),
    ("jacob", &["jake", "jack"]),
    ("jacqueline", &["jackie", "jacqui"]),
    ("james", &["jim", "jimmy", "jamie", "jem"]),
    ("janet", &["jan"]),
    ("jennifer", &["jen", "jenny", "jenn"]),
    ("jeremy", &["jerry"]),
    ("jerome", &["jerry"]),
    ("jessica", &["jess", "jessie"]),
    ("joanne", &["jo"]),
    ("joanna", &["jo"]),
    ("john", &["jack", "johnny", "jon"]),
    ("jonathan", &["jon", "jonny", "johnny"]),
    ("joseph", &["joe", "joey"]),
    ("josephine", &["jo", "josie"]),
    ("joshua", &["josh"]),
    ("judith", &["judy"]),
    ("kenneth", &["ken", "kenny"]),
    ("kimberly", &["kim"]),
    ("lawrence", &["larry", "laurie"]),
    ("leonard", &["len", "lenny", "leo"]),
    ("louis", &["lou"]),
    ("louise", &["lou"]),
    ("margaret", &["maggie", "meg", "peggy", "marge", "margie", "greta", "madge"]),
    ("martin", &["marty"]),
    ("mary", &["molly", "polly", "mae"]),
    ("matthew", &["matt", "matty"]),
    ("melissa", &["mel", "missy"]),
    ("michael", &["mike", "mikey", "mick", "micky", "mickey"]),
    ("mitchell", &["mitch"]),
    ("nathan", &["nate", "nat"]),
    ("nathaniel", &["nate", "nat"]),
    ("nicholas", &["nick", "nicky"]),
    ("oliver", &["ollie"]),
    ("pamela", &["pam"]),
    ("patricia", &["pat", "patty", "trish", "tricia"]),
    ("patrick", &["pat", "paddy"]),
    ("penelope", &["penny"]),
    ("peter", &["pete"]),
    ("philip", &["phil"]),
    ("phillip", &["phil"]),
    ("randall", &["randy"]),
    ("raymond", &["ray"]),
    ("rebecca", &["becky", "becca"]),
    ("richard", &["rick", "ricky", "dick", "rich", "richie"]),
    ("robert", &["bob", "bobby", "rob", "robbie", "bert"]),
    ("rodney", &["rod"]),
    ("ronald", &["ron", "ronnie"]),
    ("russell", &["russ"]),
    ("samantha", &["sam", "sammy"]),
    ("samuel", &["sam", "sammy"]),
    ("sandra", &["sandy"]),
    ("stephen", &["steve", "stevie"]),
    ("steven", &["steve", "stevie"]),
    ("susan", &["sue", "susie", "suzy"]),
    ("suzanne", &["sue", "susie", "suzy"]),
    ("teresa", &["terry", "tess", "tessa"]),
    ("theresa", &["terry", "tess", "tessa"]),
    ("terrence", &["terry"]),
    ("theodore", &["ted", "teddy", "theo"]),
    ("thomas", &["tom", "tommy"]),
    ("timothy", &["tim", "timmy"]),
    ("valerie", &["val"]),
    ("victoria", &["vicky", "vicki", "tori"]),
    ("vincent", &["vince", "vinny"]),
    ("virginia", &["ginny", "ginger"]),
    ("walter", &["walt", "wally"]),
    ("william", &["bill", "billy", "will", "willy", "willie", "liam"]),
    ("zachary", &["zach", "zack"]),
];

/// The formal names a name may stand for, as bit sets: those it is (`catherine`) and those it
/// is a diminutive of (`kathy`: catherine, katherine, kathryn).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Groups {
    /// The formal names it is.
    pub formal: u128,
    /// The formal names it is a diminutive of.
    pub diminutive: u128,
}

impl Groups {
    /// Whether one of the two is a formal name the other is a diminutive of. Two diminutives
    /// of one formal name are not alike: `freddie` and `alfie` are both Alfred's, but most
    /// Freddies are Fredericks.
    pub fn alike(self, other: Groups) -> bool {
        (self.formal & other.diminutive) | (self.diminutive & other.formal) != 0
    }
}

/// Each name of the table with its [`Groups`].
fn table() -> &'static FxHashMap<&'static str, Groups> {
    static MAP: OnceLock<FxHashMap<&'static str, Groups>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map: FxHashMap<&'static str, Groups> = FxHashMap::default();
        for (k, (formal, short)) in TABLE.iter().enumerate() {
            let bit = 1u128 << k;
            map.entry(formal).or_default().formal |= bit;
            for name in short.iter() {
                map.entry(name).or_default().diminutive |= bit;
            }
        }
        map
    })
}

/// The formal names `name` (lowercase, one word) is or may stand for; empty when it is in no
/// group.
pub fn groups(name: &str) -> Groups {
    table().get(name).copied().unwrap_or_default()
}

/// Whether two names are a formal name and its diminutive.
///
/// ```
/// use audience::link::nicknames::alike;
/// assert!(alike("kathy", "catherine") && alike("bob", "robert") && !alike("bob", "tom"));
/// assert!(!alike("freddie", "alfie"), "two diminutives of Alfred");
/// ```
pub fn alike(a: &str, b: &str) -> bool {
    groups(a).alike(groups(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_fits_its_bit_set_and_is_lowercase_ascii() {
        assert!(TABLE.len() <= 128, "{} formal names", TABLE.len());
        for (formal, short) in TABLE {
            for n in std::iter::once(formal).chain(short.iter()) {
                assert!(n.bytes().all(|b| b.is_ascii_lowercase()), "{n}");
            }
        }
        assert!(alike("sue", "susan") && alike("jeff", "geoffrey") && alike("harry", "henry"));
        assert!(!alike("john", "james") && !alike("smith", "smyth"));
        assert_eq!(groups("smith"), Groups::default());
    }
}
