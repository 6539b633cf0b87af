//! Contact lists: a CSV file of raw contacts (an advertiser's CRM extract being onboarded) read
//! as a stream of [`Contact`]s, in bounded memory, for [`crate::export`].
//!
//! Owns the list's columns (matched case-insensitively): `email`, `phone`, `first_name`,
//! `last_name`, `city`, `state`, `zip` (or `postcode`, `postal_code`), `country`, `birth_date`,
//! `gender`, `maid`, `extern_id`, `cookie` (or `cookies`: several ids separated by `|` or `;`),
//! and the consent column `ad_consent` (or `consent`). Other columns are ignored. At least one
//! identifier column (email, phone, maid, extern_id, cookie) is required.
//!
//! **Consent is explicit.** With a consent column, a row is exported only when its value is yes
//! (true/yes/y/1/granted/opt-in); no (false/no/n/0/denied/opt-out) and empty values are excluded
//! and counted; any other value stops the export with the row named. Without a consent column the
//! list is refused, unless the caller states that every row has ad consent
//! ([`ConsentSource::Assumed`], the CLI's `--assume-consent`), which the manifest records.
//!
//! The CSV dialect: a header line, comma-separated, `"` quoting with `""` for a quote (quoted
//! fields may span lines), values trimmed, empty lines skipped, UTF-8 (optionally gzipped:
//! `.csv.gz`). Errors name the file, the row and line, and the column; they never echo a PII
//! value. It does not own normalisation (see [`crate::normalize`]).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::export::Contact;
use crate::import::parse_consent;

/// Where the consent of each contact comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentSource {
    /// The list's consent column (its header as written in the file).
    Column(String),
    /// The caller stated that every contact on the list has ad consent.
    Assumed,
}

impl ConsentSource {
    /// The rule as written into the export manifest.
    pub fn rule(&self) -> String {
        match self {
            ConsentSource::Column(c) => format!(
                "column `{c}`: only rows whose value is yes/true/1/granted are exported; no and \
                 empty values are excluded"
            ),
            ConsentSource::Assumed => {
                "assumed for every row: the operator stated with --assume-consent that the whole \
                 list has ad consent"
                    .into()
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Email,
    Phone,
    FirstName,
    LastName,
    City,
    State,
    Zip,
    Country,
    BirthDate,
    Gender,
    Maid,
    ExternId,
    Cookie,
    Consent,
}

fn column_of(header: &str) -> Option<Col> {
    Some(match header.to_lowercase().as_str() {
        "email" => Col::Email,
        "phone" => Col::Phone,
        "first_name" => Col::FirstName,
        "last_name" => Col::LastName,
        "city" => Col::City,
        "state" => Col::State,
        "zip" | "postcode" | "postal_code" => Col::Zip,
        "country" => Col::Country,
        "birth_date" => Col::BirthDate,
        "gender" => Col::Gender,
        "maid" => Col::Maid,
        "extern_id" => Col::ExternId,
        "cookie" | "cookies" => Col::Cookie,
        "ad_consent" | "consent" => Col::Consent,
        _ => return None,
    })
}

/// A contact list being read: an iterator of contacts, each `Err` on a malformed row.
pub struct ContactList {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    /// The role of each field of a row (`None`: ignored column).
    roles: Vec<Option<Col>>,
    consent: ConsentSource,
    /// The known columns found, as written in the header.
    pub columns: Vec<String>,
    line: u64,
    row: u64,
    record: String,
    fields: Vec<String>,
    failed: bool,
}

impl std::fmt::Debug for ContactList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactList")
            .field("path", &self.path)
            .field("columns", &self.columns)
            .finish()
    }
}

impl ContactList {
    /// Opens `path` and reads its header. `assume_consent` is the caller's statement that every
    /// row has ad consent; it is refused when the file has a consent column (which then decides).
    pub fn open(path: impl AsRef<Path>, assume_consent: bool) -> Result<ContactList> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).at(&path)?;
        let gz = path.to_string_lossy().to_lowercase().ends_with(".gz");
        let reader: Box<dyn BufRead> = if gz {
            Box::new(BufReader::with_capacity(1 << 20, flate2::read::MultiGzDecoder::new(file)))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, file))
        };
        ContactList::from_reader(path, reader, assume_consent)
    }

    /// Reads a contact list from any reader; `path` names it in messages.
    pub fn from_reader(
        path: PathBuf,
        reader: Box<dyn BufRead>,
        assume_consent: bool,
    ) -> Result<ContactList> {
        let mut list = ContactList {
            path,
            reader,
            roles: Vec::new(),
            consent: ConsentSource::Assumed,
            columns: Vec::new(),
            line: 0,
            row: 0,
            record: String::new(),
            fields: Vec::new(),
            failed: false,
        };
        if !list.next_record()? {
            return Err(Error::user(format!(
                "{}: the file is empty; a contact list needs a header line (email, phone, ...) \
                 and rows",
                list.path.display()
            )));
        }
        let headers: Vec<String> = list
            .fields
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let mut consent_col = None;
        for h in &headers {
            let role = column_of(h);
            if let Some(r) = role {
                if list.roles.contains(&Some(r)) {
                    return Err(Error::user(format!(
                        "{}: two columns mean the same (`{h}` and another); keep one",
                        list.path.display()
                    )));
                }
                if r == Col::Consent {
                    consent_col = Some(h.clone());
                }
                list.columns.push(h.clone());
            }
            list.roles.push(role);
        }
        let ids = [Col::Email, Col::Phone, Col::Maid, Col::ExternId, Col::Cookie];
        if !list.roles.iter().any(|r| r.is_some_and(|r| ids.contains(&r))) {
            return Err(Error::user(format!(
                "{}: no identifier column; the header has: {}. Add at least one of email, phone, \
                 maid, extern_id, cookie (names are matched case-insensitively)",
                list.path.display(),
                headers.join(", ")
            )));
        }
        list.consent = match (consent_col, assume_consent) {
            (Some(c), false) => ConsentSource::Column(c),
            (Some(c), true) => {
                return Err(Error::user(format!(
                    "{}: the file has a consent column `{c}`, which decides; drop --assume-consent",
                    list.path.display()
                )))
            }
            (None, true) => ConsentSource::Assumed,
            (None, false) => {
                return Err(Error::user(format!(
                    "{}: no consent column (`ad_consent` or `consent`); a contact is exported only \
                     with ad consent: add the column (yes/no per row), or pass --assume-consent to \
                     state that everyone on the list gave it",
                    list.path.display()
                )))
            }
        };
        Ok(list)
    }

    /// Where each contact's consent comes from.
    pub fn consent(&self) -> &ConsentSource {
        &self.consent
    }

    /// Reads the next CSV record into `self.fields`; false at the end of the file.
    fn next_record(&mut self) -> Result<bool> {
        loop {
            self.record.clear();
            let start = self.line + 1;
            loop {
                let n = self.reader.read_line(&mut self.record).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        Error::user(format!(
                            "{}: line {}: bytes that are not UTF-8; re-save the file as UTF-8 \
                             (e.g. `iconv -f latin1 -t utf-8`)",
                            self.path.display(),
                            self.line + 1
                        ))
                    } else {
                        Error::io(&self.path, e)
                    }
                })?;
                if n == 0 {
                    if self.record.is_empty() {
                        return Ok(false);
                    }
                    if self.record.bytes().filter(|b| *b == b'"').count() % 2 == 1 {
                        return Err(Error::user(format!(
                            "{}: line {start}: a quoted value is never closed; close it with `\"`",
                            self.path.display()
                        )));
                    }
                    break;
                }
                self.line += 1;
                if self.record.bytes().filter(|b| *b == b'"').count() % 2 == 0 {
                    break;
                }
            }
            if self.record.trim().is_empty() {
                continue;
            }
            split_record(self.record.trim_end_matches(['\n', '\r']), &mut self.fields);
            return Ok(true);
        }
    }

    fn location(&self) -> String {
        format!("{}: row {}", self.path.display(), self.row)
    }

    fn contact(&mut self) -> Result<Contact> {
        if self.fields.len() != self.roles.len() {
            return Err(Error::user(format!(
                "{} (line {}): {} values but the header has {} columns; quote values that hold \
                 commas",
                self.location(),
                self.line,
                self.fields.len(),
                self.roles.len()
            )));
        }
        let mut c = Contact::default();
        if self.consent == ConsentSource::Assumed {
            c.consent = Some(true);
        }
        for (role, value) in self.roles.iter().zip(self.fields.iter_mut()) {
            let Some(role) = role else { continue };
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            let v = std::mem::take(value);
            match role {
                Col::Email => c.email = Some(v),
                Col::Phone => c.phone = Some(v),
                Col::FirstName => c.first_name = Some(v),
                Col::LastName => c.last_name = Some(v),
                Col::City => c.city = Some(v),
                Col::State => c.state = Some(v),
                Col::Zip => c.zip = Some(v),
                Col::Country => c.country = Some(v),
                Col::BirthDate => c.birth_date = Some(v),
                Col::Gender => c.gender = Some(v),
                Col::Maid => c.maid = Some(v),
                Col::ExternId => c.extern_id = Some(v.trim().to_string()),
                Col::Cookie => {
                    c.cookies = v
                        .split(['|', ';'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                }
                Col::Consent => {
                    let name = match &self.consent {
                        ConsentSource::Column(n) => n.as_str(),
                        ConsentSource::Assumed => "consent",
                    };
                    c.consent = Some(parse_consent(v.trim()).ok_or_else(|| {
                        Error::user(format!(
                            "{}: row {} (line {}), column `{name}`: `{}` is not a consent value; \
                             use yes/no, true/false, 1/0, granted/denied (empty: unknown, not \
                             exported)",
                            self.path.display(),
                            self.row,
                            self.line,
                            v.trim()
                        ))
                    })?);
                }
            }
        }
        Ok(c)
    }
}

impl Iterator for ContactList {
    type Item = Result<Contact>;

    fn next(&mut self) -> Option<Result<Contact>> {
        if self.failed {
            return None;
        }
        let r = match self.next_record() {
            Ok(false) => return None,
            Ok(true) => {
                self.row += 1;
                self.contact()
            }
            Err(e) => Err(e),
        };
        self.failed = r.is_err();
        Some(r)
    }
}

/// Splits one CSV record (quotes balanced, line ending removed) into trimmed fields.
fn split_record(record: &str, fields: &mut Vec<String>) {
    fields.clear();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = record.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else {
            match c {
                ',' => fields.push(std::mem::take(&mut field).trim().to_string()),
                '"' if field.trim().is_empty() => {
                    field.clear();
                    quoted = true;
                }
                _ => field.push(c),
            }
        }
    }
    fields.push(field.trim().to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list(text: &str, assume: bool) -> Result<ContactList> {
        let reader: Box<dyn BufRead> = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        ContactList::from_reader(PathBuf::from("list.csv"), reader, assume)
    }

    #[test]
    fn reads_columns_case_insensitively_with_quotes() {
        let l = list(
            "EMAIL,Phone,First_Name,Ad_Consent,notes,Cookies\n\
             ann@example.com,\"+33 6 12 34 56 78\",Ann,yes,\"a, \"\"b\"\"\nc\",c1|c2\n\
             \n\
             bob@example.com,,Bob,no,,\n",
            false,
        )
        .unwrap();
        assert_eq!(l.consent(), &ConsentSource::Column("Ad_Consent".into()));
        let rows: Vec<Contact> = l.map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].phone.as_deref(), Some("+33 6 12 34 56 78"));
        assert_eq!(rows[0].cookies, ["c1", "c2"]);
        assert_eq!(rows[0].consent, Some(true));
        assert_eq!((rows[1].phone.clone(), rows[1].consent), (None, Some(false)));
    }

    #[test]
    fn consent_is_explicit() {
        let e = list("email\na@example.com\n", false).unwrap_err().to_string();
        assert!(e.contains("no consent column") && e.contains("--assume-consent"), "{e}");
        let l = list("email\na@example.com\n", true).unwrap();
        assert_eq!(l.consent(), &ConsentSource::Assumed);
        assert_eq!(l.map(|r| r.unwrap().consent).collect::<Vec<_>>(), [Some(true)]);
        let e = list("email,consent\na@example.com,yes\n", true).unwrap_err().to_string();
        assert!(e.contains("drop --assume-consent"), "{e}");
        let mut l = list("email,consent\na@example.com,\nb@example.com,maybe\n", false).unwrap();
        assert_eq!(l.next().unwrap().unwrap().consent, None);
        let e = l.next().unwrap().unwrap_err().to_string();
        assert!(
            e.contains("row 2 (line 3)") && e.contains("`consent`") && e.contains("maybe"),
            "{e}"
        );
        assert!(!e.contains("b@example.com"), "errors do not echo PII: {e}");
        assert!(l.next().is_none(), "the stream stops at the first error");
    }

    #[test]
    fn bad_files_are_named() {
        let e = list("", true).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = list("first_name,city\nAnn,Paris\n", true).unwrap_err().to_string();
        assert!(e.contains("no identifier column") && e.contains("first_name, city"), "{e}");
        let e = list("email,EMAIL\n", true).unwrap_err().to_string();
        assert!(e.contains("two columns"), "{e}");
        let mut l = list("email,phone\na@example.com\n", true).unwrap();
        let e = l.next().unwrap().unwrap_err().to_string();
        assert!(e.contains("row 1 (line 2)") && e.contains("1 values") && !e.contains("a@"), "{e}");
        let mut l = list("email\n\"a@example.com\n", true).unwrap();
        let e = l.next().unwrap().unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("never closed"), "{e}");
        let reader: Box<dyn BufRead> =
            Box::new(std::io::Cursor::new(b"email\n\xff@x.com\n".to_vec()));
        let mut l = ContactList::from_reader(PathBuf::from("l.csv"), reader, true).unwrap();
        let e = l.next().unwrap().unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("UTF-8"), "{e}");
    }

    fn quote(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\""))
    }

    proptest! {
        #[test]
        fn quoted_fields_round_trip(fields in prop::collection::vec("[a-z ,\"\n\u{e9}]{0,8}", 1..6)) {
            let record = fields.iter().map(|f| quote(f)).collect::<Vec<_>>().join(",");
            let mut out = Vec::new();
            split_record(&record, &mut out);
            let want: Vec<String> = fields.iter().map(|f| f.trim().to_string()).collect();
            prop_assert_eq!(out, want);
        }

        #[test]
        fn reader_never_panics(text in "[a-z,\"\n\r ]{0,60}") {
            if let Ok(l) = list(&format!("email,{text}"), true) {
                for r in l {
                    let _ = r;
                }
            }
        }
    }
}
