//! `audience forget (--email X | --phone X | --id KIND:VALUE)`.

use anyhow::{bail, Result};

use audience::forget::{forget, Request, AUDIT_LOG};

use super::Global;

#[derive(clap::Args)]
pub struct ForgetArgs {
    /// The person's email address (normalised and hashed; never stored or logged raw).
    #[arg(long)]
    pub email: Option<String>,
    /// The person's phone number (international form, or national with --default-country).
    #[arg(long)]
    pub phone: Option<String>,
    /// Another identifier as KIND:VALUE: customer_id, cookie, maid, loyalty_card,
    /// partner_cookie, profile (the store's profile id), email, phone, email_sha256,
    /// phone_sha256.
    #[arg(long, value_name = "KIND:VALUE")]
    pub id: Option<String>,
    /// Country (ISO alpha-2) of a national phone number.
    #[arg(long, value_name = "CC")]
    pub default_country: Option<String>,
}

pub fn run(a: ForgetArgs, g: &Global) -> Result<()> {
    let req = match (a.email, a.phone, a.id) {
        (Some(e), None, None) => Request::Email(e),
        (None, Some(p), None) => Request::Phone(p),
        (None, None, Some(id)) => Request::parse_id(&id)?,
        (None, None, None) => bail!("say whom to forget: --email X, --phone X or --id KIND:VALUE"),
        _ => bail!("give one of --email, --phone, --id per run"),
    };
    let mut store = g.open_store()?;
    let r = forget(&mut store, &req, a.default_country.as_deref())?;
    if r.profiles == 0 {
        println!(
            "nothing found for request {}: no profile of this store holds it{}; the identifier \
             is suppressed, so no later resolve, import or export brings it back",
            r.request,
            if r.already_suppressed { " (it was forgotten before)" } else { "" }
        );
    } else {
        let e = &r.erased;
        println!(
            "forgot {} profile(s) for request {}: {} identifiers, {} links, {} trait rows, {} \
             contact records removed; {} segment(s) changed",
            r.profiles,
            r.request,
            e.identifiers,
            e.links,
            e.trait_rows,
            e.contacts,
            e.segments.len()
        );
        for (name, n) in &e.segments {
            println!("  segment {name}: {n} member(s) removed");
        }
        g.note(
            "  export files written before this run are not changed: export the audiences again",
        );
    }
    println!("  audit: {}", store.path(AUDIT_LOG).display());
    Ok(())
}
