//! The fixed vocabulary of the synthetic world: categories, personas, countries with their cities,
//! names, streets, email domains and phone plans, partners, providers and campaigns.
//!
//! Owns only constant tables. It does not draw anything: [`super::person`] draws from them.

/// Product categories, shared by receipts, web events, partner events, campaigns and provider
/// interests.
pub const CATEGORIES: [&str; 14] = [
    "fashion",
    "shoes",
    "beauty",
    "electronics",
    "gaming",
    "home",
    "garden",
    "diy",
    "toys",
    "baby",
    "sports",
    "outdoor",
    "grocery",
    "wine",
];

/// A latent persona: it drives category affinities, channel mix, spend, email engagement and the
/// future-conversion label.
pub struct Persona {
    /// Name written to `truth/persons.persona`.
    pub name: &'static str,
    /// Share of the population.
    pub weight: f64,
    /// Affinity weight per category, in [`CATEGORIES`] order.
    pub affinity: [f64; 14],
    /// Mean purchases (receipts) per year.
    pub purchases: f64,
    /// Mean basket in EUR.
    pub basket: f64,
    /// Share of purchases made online, for people who can buy online.
    pub online: f64,
    /// Mean web sessions per year on our site (visitors only).
    pub sessions: f64,
    /// Mean email engagement in [0, 1].
    pub engagement: f64,
    /// Base log-odds of converting in the future.
    pub conversion: f64,
    /// Mean and standard deviation of age.
    pub age: (f64, f64),
    /// Share of women.
    pub female: f64,
    /// Probability of being online at all.
    pub digital: f64,
    /// Weights of the income bands low, mid, high.
    pub income: [f64; 3],
}

/// The personas. Affinity order: fashion shoes beauty electronics gaming home garden diy toys baby
/// sports outdoor grocery wine.
pub const PERSONAS: [Persona; 8] = [
    Persona {
        name: "bargain_hunter",
        weight: 0.18,
        affinity: [1.0, 0.5, 0.5, 0.5, 0.3, 2.0, 0.5, 2.0, 1.0, 0.5, 0.3, 0.2, 5.0, 0.5],
        purchases: 14.0,
        basket: 25.0,
        online: 0.2,
        sessions: 8.0,
        engagement: 0.55,
        conversion: -4.4,
        age: (46.0, 15.0),
        female: 0.55,
        digital: 0.8,
        income: [0.6, 0.35, 0.05],
    },
    Persona {
        name: "fashion_lover",
        weight: 0.14,
        affinity: [6.0, 4.0, 4.0, 0.3, 0.1, 0.5, 0.1, 0.1, 0.2, 0.2, 0.5, 0.2, 0.5, 0.3],
        purchases: 8.0,
        basket: 70.0,
        online: 0.6,
        sessions: 14.0,
        engagement: 0.55,
        conversion: -1.9,
        age: (31.0, 8.0),
        female: 0.75,
        digital: 0.97,
        income: [0.25, 0.55, 0.2],
    },
    Persona {
        name: "tech_enthusiast",
        weight: 0.12,
        affinity: [0.3, 0.5, 0.1, 6.0, 4.0, 0.5, 0.1, 0.5, 0.3, 0.1, 0.5, 0.3, 0.5, 0.3],
        purchases: 4.0,
        basket: 150.0,
        online: 0.7,
        sessions: 12.0,
        engagement: 0.3,
        conversion: -3.0,
        age: (33.0, 10.0),
        female: 0.25,
        digital: 0.98,
        income: [0.15, 0.5, 0.35],
    },
    Persona {
        name: "home_garden",
        weight: 0.12,
        affinity: [0.3, 0.2, 0.3, 0.5, 0.1, 5.0, 5.0, 4.0, 0.2, 0.2, 0.2, 1.0, 1.0, 0.5],
        purchases: 6.0,
        basket: 80.0,
        online: 0.3,
        sessions: 5.0,
        engagement: 0.4,
        conversion: -2.9,
        age: (52.0, 12.0),
        female: 0.5,
        digital: 0.85,
        income: [0.2, 0.5, 0.3],
    },
    Persona {
        name: "young_family",
        weight: 0.12,
        affinity: [1.0, 0.5, 0.5, 0.3, 0.3, 1.0, 0.3, 0.3, 5.0, 5.0, 0.3, 0.3, 3.0, 0.2],
        purchases: 12.0,
        basket: 60.0,
        online: 0.4,
        sessions: 9.0,
        engagement: 0.5,
        conversion: -2.3,
        age: (33.0, 5.0),
        female: 0.6,
        digital: 0.95,
        income: [0.3, 0.55, 0.15],
    },
    Persona {
        name: "sports_fan",
        weight: 0.1,
        affinity: [0.5, 2.0, 0.2, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2, 0.1, 6.0, 4.0, 0.5, 0.3],
        purchases: 5.0,
        basket: 65.0,
        online: 0.5,
        sessions: 9.0,
        engagement: 0.3,
        conversion: -3.3,
        age: (35.0, 12.0),
        female: 0.35,
        digital: 0.93,
        income: [0.3, 0.5, 0.2],
    },
    Persona {
        name: "foodie",
        weight: 0.1,
        affinity: [0.3, 0.2, 0.3, 0.2, 0.1, 1.0, 0.5, 0.2, 0.1, 0.1, 0.2, 0.3, 4.0, 5.0],
        purchases: 10.0,
        basket: 45.0,
        online: 0.25,
        sessions: 5.0,
        engagement: 0.4,
        conversion: -3.6,
        age: (47.0, 14.0),
        female: 0.5,
        digital: 0.85,
        income: [0.25, 0.45, 0.3],
    },
    Persona {
        name: "senior_classic",
        weight: 0.12,
        affinity: [0.5, 0.3, 0.3, 0.2, 0.05, 2.0, 2.0, 0.5, 0.5, 0.2, 0.1, 0.3, 3.0, 1.0],
        purchases: 9.0,
        basket: 40.0,
        online: 0.08,
        sessions: 2.0,
        engagement: 0.25,
        conversion: -4.8,
        age: (71.0, 7.0),
        female: 0.55,
        digital: 0.45,
        income: [0.4, 0.45, 0.15],
    },
];

/// Income bands, lowest first.
pub const INCOME_BANDS: [&str; 3] = ["low", "mid", "high"];

/// Age bands of the provider files, with the age a profile gets from each band.
pub const AGE_BANDS: [(&str, u32, u32, i64); 6] = [
    ("18-24", 18, 24, 21),
    ("25-34", 25, 34, 30),
    ("35-44", 35, 44, 40),
    ("45-54", 45, 54, 50),
    ("55-64", 55, 64, 60),
    ("65+", 65, 200, 70),
];

/// The age band of `age`.
pub fn age_band(age: u32) -> usize {
    AGE_BANDS.iter().position(|b| age >= b.1 && age <= b.2).unwrap_or(0)
}

/// How a country writes a postcode.
pub enum Postcode {
    /// Five digits in the inclusive range (leading zeros kept: `08001`).
    Digits(u32, u32),
    /// A UK outward code followed by a random inward code (`SW1A 2AA`).
    Uk(&'static [&'static str]),
}

/// A city: name, a name variant found in dirty data (empty when none), weight, postcodes.
pub struct City {
    /// The city's name.
    pub name: &'static str,
    /// A spelling without accents or in another language, found in dirty CRM rows.
    pub variant: &'static str,
    /// Relative weight within its country.
    pub weight: f64,
    /// Its postcodes.
    pub postcode: Postcode,
}

/// A country with everything its people are drawn from.
pub struct Country {
    /// ISO 3166 alpha-2.
    pub code: &'static str,
    /// Share of the population.
    pub weight: f64,
    /// Cities.
    pub cities: &'static [City],
    /// Men's first names.
    pub male: &'static [&'static str],
    /// Women's first names.
    pub female: &'static [&'static str],
    /// Last names.
    pub last: &'static [&'static str],
    /// Street names; `#` is replaced by the house number.
    pub streets: &'static [&'static str],
    /// (long form, abbreviation) pairs found in dirty street values.
    pub street_abbrev: &'static [(&'static str, &'static str)],
    /// Email domains, the first the most common.
    pub domains: &'static [&'static str],
    /// Phone plan.
    pub phone: PhonePlan,
    /// First octets of household IPs (two, to give 25 bits of room).
    pub ip_octets: [u8; 2],
    /// First octet of the mobile carrier's IPs.
    pub mobile_octet: u8,
    /// Gender codes found in dirty data for men and women besides `M`/`F`.
    pub gender_variants: (&'static str, &'static str),
}

/// Mobile numbers of a country: E.164 is `+{cc}{prefix}{8 digits}`.
pub struct PhonePlan {
    /// Country calling code.
    pub cc: &'static str,
    /// National prefixes of mobile numbers (the first digits after the country code).
    pub prefixes: &'static [&'static str],
    /// Whether the national form starts with a trunk `0`.
    pub trunk_zero: bool,
}

const fn city(name: &'static str, variant: &'static str, weight: f64, postcode: Postcode) -> City {
    City { name, variant, weight, postcode }
}

/// The countries, FR first.
pub const COUNTRIES: [Country; 6] = [
    Country {
        code: "FR",
        weight: 0.35,
        cities: &[
            city("Paris", "PARIS", 5.0, Postcode::Digits(75001, 75020)),
            city("Lyon", "", 2.0, Postcode::Digits(69001, 69009)),
            city("Marseille", "", 2.0, Postcode::Digits(13001, 13016)),
            city("Toulouse", "", 1.5, Postcode::Digits(31000, 31500)),
            city("Lille", "", 1.0, Postcode::Digits(59000, 59800)),
            city("Nantes", "", 1.0, Postcode::Digits(44000, 44300)),
            city("Saint-Étienne", "St Etienne", 0.8, Postcode::Digits(42000, 42100)),
        ],
        male: &[
            "Jean",
            "Pierre",
            "Lucas",
            "Hugo",
            "Louis",
            "Thomas",
            "Nicolas",
            "Julien",
            "Antoine",
            "Mathieu",
            "François",
            "Jérôme",
            "Loïc",
            "Benoît",
            "Théo",
        ],
        female: &[
            "Marie", "Camille", "Léa", "Chloé", "Manon", "Sophie", "Julie", "Émilie", "Hélène",
            "Céline", "Inès", "Sarah", "Laura", "Anaïs", "Margaux",
        ],
        last: &[
            "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
            "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
            "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
            "Dupont", "Lambert", "Bonnet", "Fontaine", "Rousseau", "Gauthier",
        ],
        streets: &[
            "# rue de la République",
            "# avenue Victor Hugo",
            "# boulevard Voltaire",
            "# rue Jean Jaurès",
            "# rue des Lilas",
            "# place de la Mairie",
            "# chemin du Moulin",
            "# rue Pasteur",
            "# avenue de la Gare",
            "# rue du Général Leclerc",
        ],
        street_abbrev: &[("avenue", "av."), ("boulevard", "bd"), ("rue", "r."), ("Général", "Gal")],
        domains: &["gmail.com", "orange.fr", "free.fr", "hotmail.fr", "yahoo.fr", "laposte.net"],
        phone: PhonePlan { cc: "33", prefixes: &["6", "7"], trunk_zero: true },
        ip_octets: [90, 86],
        mobile_octet: 37,
        gender_variants: ("H", "f"),
    },
    Country {
        code: "DE",
        weight: 0.18,
        cities: &[
            city("Berlin", "", 4.0, Postcode::Digits(10115, 14199)),
            city("München", "Muenchen", 2.5, Postcode::Digits(80331, 81929)),
            city("Hamburg", "", 2.0, Postcode::Digits(20095, 22769)),
            city("Köln", "Cologne", 1.8, Postcode::Digits(50667, 51149)),
            city("Frankfurt am Main", "Frankfurt", 1.2, Postcode::Digits(60306, 60599)),
            city("Düsseldorf", "Dusseldorf", 1.0, Postcode::Digits(40210, 40629)),
        ],
        male: &[
            "Lukas",
            "Leon",
            "Maximilian",
            "Felix",
            "Jonas",
            "Paul",
            "Jürgen",
            "Stefan",
            "Michael",
            "Andreas",
            "Thomas",
            "Björn",
            "Tobias",
            "Matthias",
            "Sebastian",
        ],
        female: &[
            "Anna",
            "Lena",
            "Lea",
            "Sophie",
            "Marie",
            "Julia",
            "Katharina",
            "Jana",
            "Sabine",
            "Ute",
            "Birgit",
            "Hanna",
            "Laura",
            "Sarah",
            "Jördis",
        ],
        last: &[
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Schulz",
            "Hoffmann",
            "Schäfer",
            "Koch",
            "Bauer",
            "Richter",
            "Klein",
            "Wolf",
            "Schröder",
            "Neumann",
            "Schwarz",
            "Zimmermann",
            "Braun",
            "Krüger",
            "Hofmann",
            "Hartmann",
            "Lange",
        ],
        streets: &[
            "Hauptstraße #",
            "Bahnhofstraße #",
            "Schillerstraße #",
            "Goethestraße #",
            "Gartenweg #",
            "Lindenallee #",
            "Kirchstraße #",
            "Am Markt #",
        ],
        street_abbrev: &[("straße", "str."), ("Straße", "Str."), ("allee", "allee")],
        domains: &["gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de"],
        phone: PhonePlan { cc: "49", prefixes: &["151", "160", "170", "176"], trunk_zero: true },
        ip_octets: [84, 93],
        mobile_octet: 109,
        gender_variants: ("m", "W"),
    },
    Country {
        code: "GB",
        weight: 0.15,
        cities: &[
            city(
                "London",
                "LONDON",
                5.0,
                Postcode::Uk(&["SW1A", "E1", "N1", "W2", "SE1", "NW3", "EC1A", "WC2N"]),
            ),
            city("Manchester", "", 1.5, Postcode::Uk(&["M1", "M4", "M14", "M20"])),
            city("Birmingham", "", 1.5, Postcode::Uk(&["B1", "B5", "B15", "B30"])),
            city("Leeds", "", 1.0, Postcode::Uk(&["LS1", "LS6", "LS11"])),
            city("Glasgow", "", 1.0, Postcode::Uk(&["G1", "G3", "G12"])),
            city("Bristol", "", 0.8, Postcode::Uk(&["BS1", "BS5", "BS8"])),
        ],
        male: &[
            "Oliver", "Jack", "Harry", "George", "Charlie", "James", "William", "Thomas", "Daniel",
            "Matthew", "David", "Andrew", "Richard", "Paul", "Seán",
        ],
        female: &[
            "Olivia",
            "Amelia",
            "Emily",
            "Isla",
            "Ava",
            "Jessica",
            "Sophie",
            "Charlotte",
            "Lucy",
            "Hannah",
            "Emma",
            "Sarah",
            "Laura",
            "Rachel",
            "Zoë",
        ],
        last: &[
            "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
            "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
            "Hughes", "Green", "Hall", "Wood", "Harris", "Lewis", "O'Brien", "McDonald",
        ],
        streets: &[
            "# High Street",
            "# Station Road",
            "# Church Lane",
            "# Park Avenue",
            "# Victoria Road",
            "# Mill Lane",
            "Flat #, Queen's Court",
            "# The Green",
        ],
        street_abbrev: &[("Street", "St"), ("Road", "Rd"), ("Avenue", "Ave"), ("Lane", "Ln")],
        domains: &["gmail.com", "hotmail.co.uk", "btinternet.com", "outlook.com", "yahoo.co.uk"],
        phone: PhonePlan { cc: "44", prefixes: &["77", "78", "74"], trunk_zero: true },
        ip_octets: [81, 82],
        mobile_octet: 31,
        gender_variants: ("Male", "Female"),
    },
    Country {
        code: "ES",
        weight: 0.12,
        cities: &[
            city("Madrid", "", 3.0, Postcode::Digits(28001, 28055)),
            city("Barcelona", "", 2.5, Postcode::Digits(8001, 8042)),
            city("Valencia", "València", 1.2, Postcode::Digits(46001, 46026)),
            city("Sevilla", "Seville", 1.0, Postcode::Digits(41001, 41020)),
            city("Málaga", "Malaga", 0.8, Postcode::Digits(29001, 29018)),
        ],
        male: &[
            "José",
            "Antonio",
            "Manuel",
            "Francisco",
            "David",
            "Juan",
            "Javier",
            "Daniel",
            "Carlos",
            "Jesús",
            "Alejandro",
            "Miguel",
            "Rafael",
            "Pablo",
            "Sergio",
        ],
        female: &[
            "María", "Carmen", "Ana", "Laura", "Lucía", "Isabel", "Cristina", "Marta", "Sofía",
            "Elena", "Paula", "Raquel", "Pilar", "Nuria", "Sara",
        ],
        last: &[
            "García",
            "Fernández",
            "González",
            "Rodríguez",
            "López",
            "Martínez",
            "Sánchez",
            "Pérez",
            "Gómez",
            "Martín",
            "Jiménez",
            "Ruiz",
            "Hernández",
            "Díaz",
            "Moreno",
            "Muñoz",
            "Álvarez",
            "Romero",
            "Alonso",
            "Gutiérrez",
            "Navarro",
            "Torres",
            "Domínguez",
            "Vázquez",
            "Ramos",
        ],
        streets: &[
            "Calle Mayor #",
            "Calle de Alcalá #",
            "Avenida de la Constitución #",
            "Calle Real #",
            "Plaza de España #",
            "Calle del Sol #",
            "Paseo de Gracia #",
        ],
        street_abbrev: &[("Calle", "C/"), ("Avenida", "Avda."), ("Plaza", "Pza.")],
        domains: &["gmail.com", "hotmail.es", "yahoo.es", "outlook.es", "telefonica.net"],
        phone: PhonePlan { cc: "34", prefixes: &["6", "7"], trunk_zero: false },
        ip_octets: [83, 88],
        mobile_octet: 95,
        gender_variants: ("H", "M"),
    },
    Country {
        code: "IT",
        weight: 0.12,
        cities: &[
            city("Roma", "Rome", 3.0, Postcode::Digits(118, 199)),
            city("Milano", "Milan", 2.5, Postcode::Digits(20121, 20162)),
            city("Napoli", "Naples", 1.5, Postcode::Digits(80121, 80147)),
            city("Torino", "Turin", 1.2, Postcode::Digits(10121, 10156)),
            city("Firenze", "Florence", 1.0, Postcode::Digits(50121, 50145)),
        ],
        male: &[
            "Marco",
            "Alessandro",
            "Giuseppe",
            "Luca",
            "Andrea",
            "Francesco",
            "Matteo",
            "Lorenzo",
            "Davide",
            "Simone",
            "Federico",
            "Riccardo",
            "Nicolò",
            "Stefano",
            "Paolo",
        ],
        female: &[
            "Giulia",
            "Francesca",
            "Chiara",
            "Sara",
            "Martina",
            "Valentina",
            "Alessia",
            "Elena",
            "Federica",
            "Silvia",
            "Laura",
            "Anna",
            "Giorgia",
            "Alice",
            "Sofia",
        ],
        last: &[
            "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
            "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa",
            "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro",
            "Mariani", "Rinaldi",
        ],
        streets: &[
            "Via Roma #",
            "Via Garibaldi #",
            "Corso Vittorio Emanuele II #",
            "Via Dante #",
            "Piazza Mazzini #",
            "Via Giuseppe Verdi #",
            "Viale della Libertà #",
        ],
        street_abbrev: &[("Via", "V."), ("Piazza", "P.zza"), ("Corso", "C.so")],
        domains: &["gmail.com", "libero.it", "alice.it", "virgilio.it", "hotmail.it"],
        phone: PhonePlan { cc: "39", prefixes: &["34", "33", "32"], trunk_zero: false },
        ip_octets: [79, 87],
        mobile_octet: 151,
        gender_variants: ("m", "f"),
    },
    Country {
        code: "US",
        weight: 0.08,
        cities: &[
            city("New York", "NYC", 3.0, Postcode::Digits(10001, 10292)),
            city("Los Angeles", "LA", 2.0, Postcode::Digits(90001, 90089)),
            city("Chicago", "", 1.5, Postcode::Digits(60601, 60661)),
            city("Houston", "", 1.2, Postcode::Digits(77001, 77099)),
            city("Seattle", "", 0.8, Postcode::Digits(98101, 98199)),
            city("Boston", "", 0.8, Postcode::Digits(2108, 2137)),
        ],
        male: &[
            "James",
            "John",
            "Robert",
            "Michael",
            "William",
            "David",
            "Richard",
            "Joseph",
            "Christopher",
            "Daniel",
            "Matthew",
            "Anthony",
            "Mark",
            "Kevin",
            "Brian",
        ],
        female: &[
            "Mary",
            "Patricia",
            "Jennifer",
            "Linda",
            "Elizabeth",
            "Barbara",
            "Susan",
            "Jessica",
            "Sarah",
            "Karen",
            "Emily",
            "Ashley",
            "Megan",
            "Amanda",
            "Nicole",
        ],
        last: &[
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Jones",
            "Miller",
            "Davis",
            "Garcia",
            "Rodriguez",
            "Wilson",
            "Anderson",
            "Taylor",
            "Thomas",
            "Moore",
            "Jackson",
            "Martin",
            "Lee",
            "Thompson",
            "White",
            "Harris",
            "Clark",
            "Lewis",
            "Robinson",
            "Walker",
            "Young",
        ],
        streets: &[
            "# Main Street",
            "# Oak Avenue",
            "# Maple Street",
            "# Park Avenue",
            "# Washington Boulevard",
            "# Elm Street",
            "# Lake Drive",
        ],
        street_abbrev: &[
            ("Street", "St."),
            ("Avenue", "Ave"),
            ("Boulevard", "Blvd"),
            ("Drive", "Dr"),
        ],
        domains: &["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"],
        phone: PhonePlan {
            cc: "1",
            prefixes: &["212", "213", "312", "415", "617", "713", "206"],
            trunk_zero: false,
        },
        ip_octets: [73, 98],
        mobile_octet: 172,
        gender_variants: ("Male", "Female"),
    },
];

/// A 2nd-party partner: a site that carries our tag and syncs its cookies with ours.
pub struct Partner {
    /// Its name in `partner_syncs.partner` and `partner_events.partner`.
    pub name: &'static str,
    /// Category weights of its content (same order as [`CATEGORIES`]).
    pub theme: [f64; 14],
}

/// The partners.
pub const PARTNERS: [Partner; 5] = [
    Partner {
        name: "style_mag",
        theme: [5.0, 3.0, 4.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0],
    },
    Partner {
        name: "tech_reviews",
        theme: [0.0, 0.0, 0.0, 6.0, 4.0, 0.5, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    },
    Partner {
        name: "recipes_daily",
        theme: [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 4.0],
    },
    Partner {
        name: "parents_forum",
        theme: [0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 4.0, 5.0, 0.0, 0.0, 1.0, 0.0],
    },
    Partner {
        name: "sport_news",
        theme: [0.0, 1.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 6.0, 3.0, 0.0, 0.0],
    },
];

/// A 3rd-party data provider with its planted quality.
pub struct Provider {
    /// Its name: the file `providers/NAME` and the `provider` column.
    pub name: &'static str,
    /// Price per thousand profiles, EUR.
    pub cpm_eur: f64,
    /// Probability that each attribute it sells is the truth (else random).
    pub accuracy: f64,
    /// Share of digital people it covers.
    pub coverage: f64,
    /// Share of extra rows whose ids belong to nobody in our world.
    pub junk: f64,
    /// What the provider says about itself.
    pub description: &'static str,
}

/// The providers, most accurate first.
pub const PROVIDERS: [Provider; 3] = [
    Provider {
        name: "acme_data",
        cpm_eur: 2.5,
        accuracy: 0.9,
        coverage: 0.15,
        junk: 0.0,
        description: "premium panel-based data, small reach, high accuracy",
    },
    Provider {
        name: "midmarket",
        cpm_eur: 1.2,
        accuracy: 0.7,
        coverage: 0.35,
        junk: 0.03,
        description: "blended data from publishers, medium reach and accuracy",
    },
    Provider {
        name: "bulkaudience",
        cpm_eur: 0.4,
        accuracy: 0.45,
        coverage: 0.6,
        junk: 0.1,
        description: "large modelled audience, cheap, noisy",
    },
];

/// Email campaigns: (name, day offset from the start of the span, category theme index).
pub const EMAIL_CAMPAIGNS: [(&str, u32, usize); 24] = [
    ("em_2512_xmas_gifts", 3, 8),
    ("em_2512_party_wines", 17, 13),
    ("em_2601_winter_sales", 36, 0),
    ("em_2601_tech_deals", 50, 3),
    ("em_2602_valentine", 67, 2),
    ("em_2602_home_refresh", 80, 5),
    ("em_2603_spring_fashion", 95, 0),
    ("em_2603_garden_start", 108, 6),
    ("em_2604_easter", 122, 12),
    ("em_2604_diy_month", 138, 7),
    ("em_2605_running", 153, 10),
    ("em_2605_baby_week", 168, 9),
    ("em_2606_summer_shoes", 184, 1),
    ("em_2606_bbq", 198, 12),
    ("em_2607_summer_sales", 214, 0),
    ("em_2607_outdoor", 228, 11),
    ("em_2608_back_to_school", 245, 8),
    ("em_2608_gaming", 259, 4),
    ("em_2609_autumn_fashion", 276, 0),
    ("em_2609_wine_fair", 290, 13),
    ("em_2610_home_deco", 306, 5),
    ("em_2610_halloween", 320, 8),
    ("em_2611_black_friday", 357, 3),
    ("em_2611_beauty", 350, 2),
];

/// Ad campaigns: (name, category theme index).
pub const AD_CAMPAIGNS: [(&str, usize); 8] = [
    ("ad_prospecting_fashion", 0),
    ("ad_prospecting_tech", 3),
    ("ad_retargeting_home", 5),
    ("ad_retargeting_kids", 8),
    ("ad_prospecting_sports", 10),
    ("ad_brand_grocery", 12),
    ("ad_promo_garden", 6),
    ("ad_promo_wine", 13),
];

/// Kinds of public places whose IPs are shared by many people.
pub const VENUES: [&str; 4] = ["cafe", "office", "station", "library"];

/// A browser or app as its user agent string shows it. `{v}` in the template is the version,
/// which moves on by one every `every_days` days of the span from `base` (browsers update
/// themselves), minus the device's lag.
pub struct Agent {
    /// The device kind: 0 desktop, 1 mobile, 2 tablet, 3 app.
    pub kind: u8,
    /// Share among the devices of that kind.
    pub weight: f64,
    /// The user agent with `{v}` for the version.
    pub template: &'static str,
    /// Version at the start of the span.
    pub base: u32,
    /// Days between two versions.
    pub every_days: u32,
}

/// The user agents of the devices; iOS Safari, the reduced Android Chrome and iPadOS (which
/// says it is a Mac) leave little to tell devices apart, as in real logs.
#[rustfmt::skip]
pub const AGENTS: [Agent; 15] = [
    Agent { kind: 0, weight: 0.42, base: 131, every_days: 30, template: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36" },
    Agent { kind: 0, weight: 0.12, base: 131, every_days: 30, template: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0" },
    Agent { kind: 0, weight: 0.15, base: 131, every_days: 30, template: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36" },
    Agent { kind: 0, weight: 0.13, base: 1, every_days: 60, template: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.{v} Safari/605.1.15" },
    Agent { kind: 0, weight: 0.12, base: 133, every_days: 30, template: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0" },
    Agent { kind: 0, weight: 0.03, base: 133, every_days: 30, template: "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0" },
    Agent { kind: 0, weight: 0.03, base: 131, every_days: 30, template: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36" },
    Agent { kind: 1, weight: 0.45, base: 1, every_days: 60, template: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.{v} Mobile/15E148 Safari/604.1" },
    Agent { kind: 1, weight: 0.35, base: 131, every_days: 30, template: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36" },
    Agent { kind: 1, weight: 0.12, base: 26, every_days: 90, template: "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/{v}.0 Chrome/125.0.0.0 Mobile Safari/537.36" },
    Agent { kind: 1, weight: 0.08, base: 131, every_days: 30, template: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/{v}.0.6778.73 Mobile/15E148 Safari/604.1" },
    Agent { kind: 2, weight: 0.6, base: 1, every_days: 60, template: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.{v} Safari/605.1.15" },
    Agent { kind: 2, weight: 0.4, base: 131, every_days: 30, template: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36" },
    Agent { kind: 3, weight: 0.5, base: 2, every_days: 45, template: "ShopApp/5.{v} (iPhone; iOS 18.1; Scale/3.00)" },
    Agent { kind: 3, weight: 0.5, base: 2, every_days: 45, template: "ShopApp/5.{v} (Linux; Android 14) okhttp/4.12.0" },
];
