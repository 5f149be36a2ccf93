//! People and tokens: `civicprobe courier|office|supervisor add` and
//! `civicprobe token list|revoke|rotate` (and, in [`crate::alerts`], the
//! `office alert` and `supervisor alert` channels). Every command opens the store the
//! services use ([`Storage`]: `--data-dir` or `DATABASE_URL`); a revocation
//! is a committed row, so every service refuses the token from its next
//! request on.

use anyhow::{bail, Context};
use civicprobe_model::{OfficeId, Principal};
use civicprobe_tracker::{Issued, Revocation, Store, TokenInfo};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where the data lives; shared by every command that opens the store.
#[derive(Debug, Args, Clone)]
pub struct Storage {
    /// Folder for the SQLite database, photos and a NATS store started here.
    #[arg(long, env = "CIVICPROBE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The database.
    #[command(flatten)]
    pub database: civicprobe_tracker::Config,
}

impl Storage {
    /// Opens (and migrates) the store.
    pub async fn open(&self) -> anyhow::Result<Store> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let url = self.database.database_url_or_default(&self.data_dir);
        Store::connect(&url).await.context("opening the database")
    }
}

/// How long a new token lasts.
#[derive(Debug, Args, Clone, Copy)]
pub struct Lifetime {
    /// Days until the token stops working (default: couriers 365, office
    /// staff and supervisors 90).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub expires_in_days: Option<u32>,
}

impl Lifetime {
    fn duration(self) -> Option<time::Duration> {
        self.expires_in_days
            .map(|days| time::Duration::days(days.into()))
    }
}

/// `courier add` and `supervisor add`.
#[derive(Debug, Subcommand)]
pub enum NameAction {
    /// Add one and print the new token.
    Add {
        /// Their name, e.g. "Zhang Min".
        #[arg(value_parser = crate::answers::plain_name)]
        name: String,
        #[command(flatten)]
        lifetime: Lifetime,
        #[command(flatten)]
        storage: Storage,
    },
}

/// `office add`.
#[derive(Debug, Subcommand)]
pub enum OfficeAction {
    /// Add a person to an office's staff and print their token.
    Add {
        /// The office id from the jurisdictions file, e.g. `wenquan`; an
        /// office the file does not have is refused.
        office_id: OfficeId,
        /// The jurisdictions file the office must be in.
        #[command(flatten)]
        jurisdictions: civicprobe_router::Config,
        /// The person who will hold the token, e.g. "Wang Fang".
        #[arg(long, value_parser = crate::answers::plain_name)]
        person: String,
        /// The office's display name (sets or renames it).
        #[arg(long, value_parser = crate::answers::plain_name)]
        name: Option<String>,
        #[command(flatten)]
        lifetime: Lifetime,
        #[command(flatten)]
        storage: Storage,
    },
    /// Send this office's alerts (urgent tickets, escalations, the daily
    /// digest) to a group robot or a JSON webhook.
    Alert {
        /// The office id from the jurisdictions file, e.g. `wenquan`.
        office_id: OfficeId,
        /// The jurisdictions file the office must be in.
        #[command(flatten)]
        jurisdictions: civicprobe_router::Config,
        #[command(flatten)]
        channel: crate::alerts::ChannelArgs,
    },
}

/// `supervisor add | alert`.
#[derive(Debug, Subcommand)]
pub enum SupervisorAction {
    #[command(flatten)]
    Name(NameAction),
    /// Send the supervisors' alerts (escalations, disputes, urgent
    /// unrouted reports, the daily digest) to a group robot or a JSON
    /// webhook.
    Alert(crate::alerts::ChannelArgs),
}

/// `token list | revoke | rotate`.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Every token: public id, role, office, holder, times, state.
    List {
        #[command(flatten)]
        storage: Storage,
    },
    /// Revoke a token (and end its web sessions) at once, everywhere.
    Revoke {
        /// The token id from `token list`.
        token_id: String,
        #[command(flatten)]
        storage: Storage,
    },
    /// Issue a new token for the same holder, print it, revoke the old one.
    Rotate {
        /// The token id from `token list`.
        token_id: String,
        #[command(flatten)]
        lifetime: Lifetime,
        #[command(flatten)]
        storage: Storage,
    },
}

/// Who `courier add` and `supervisor add` register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named {
    /// `courier add`.
    Courier,
    /// `supervisor add`.
    Supervisor,
}

/// `courier add` or `supervisor add`.
pub async fn add_named(who: Named, action: NameAction) -> anyhow::Result<()> {
    let NameAction::Add {
        name,
        lifetime,
        storage,
    } = action;
    let store = storage.open().await?;
    let issued = match who {
        Named::Courier => store.issue_courier(&name, lifetime.duration()).await?,
        Named::Supervisor => store.issue_supervisor(&name, lifetime.duration()).await?,
    };
    show_issued(&issued)
}

/// `supervisor add | alert`.
pub async fn supervisor(action: SupervisorAction) -> anyhow::Result<()> {
    match action {
        SupervisorAction::Name(action) => add_named(Named::Supervisor, action).await,
        SupervisorAction::Alert(channel) => crate::alerts::add(None, channel).await,
    }
}

/// `office add | alert`.
pub async fn office(action: OfficeAction) -> anyhow::Result<()> {
    let (office_id, person, name, lifetime, storage) = match action {
        OfficeAction::Add {
            office_id,
            jurisdictions,
            person,
            name,
            lifetime,
            storage,
        } => {
            in_jurisdictions(&office_id, &jurisdictions)?;
            (office_id, person, name, lifetime, storage)
        }
        OfficeAction::Alert {
            office_id,
            jurisdictions,
            channel,
        } => {
            in_jurisdictions(&office_id, &jurisdictions)?;
            return crate::alerts::add(Some(office_id), channel).await;
        }
    };
    if person.trim().is_empty() {
        bail!("--person must name the person who holds the token");
    }
    let issued = storage
        .open()
        .await?
        .issue_office(
            &office_id,
            name.as_deref(),
            person.trim(),
            lifetime.duration(),
        )
        .await?;
    show_issued(&issued)
}

/// Refuses an office the district's jurisdictions file does not have: its
/// staff would watch a queue no ticket is ever routed to.
fn in_jurisdictions(office: &OfficeId, config: &civicprobe_router::Config) -> anyhow::Result<()> {
    let path = &config.jurisdictions;
    let jurisdictions = civicprobe_router::Jurisdictions::load_in(path, config.jurisdictions_datum)
        .with_context(|| format!("loading the jurisdictions {}", path.display()))?;
    if jurisdictions.office(office).is_none() {
        let known: Vec<&str> = jurisdictions.offices().map(|o| o.id.as_str()).collect();
        bail!(
            "no office {:?} in {} (it has: {}); check the id, or --jurisdictions",
            office.as_str(),
            path.display(),
            known.join(", ")
        );
    }
    Ok(())
}

/// `token list | revoke | rotate`.
pub async fn token(action: TokenAction) -> anyhow::Result<()> {
    match action {
        TokenAction::List { storage } => {
            let store = storage.open().await?;
            let now = store.now();
            let mut out = std::io::stdout().lock();
            write_token_table(&mut out, &store.tokens().await?, now)?;
            Ok(())
        }
        TokenAction::Revoke { token_id, storage } => {
            match storage.open().await?.revoke_token(&token_id).await? {
                Revocation::Revoked => eprintln!("token {token_id} revoked; its sessions ended"),
                Revocation::AlreadyRevoked => eprintln!("token {token_id} was revoked already"),
                Revocation::NotFound => bail!("no token has id {token_id:?}"),
            }
            Ok(())
        }
        TokenAction::Rotate {
            token_id,
            lifetime,
            storage,
        } => {
            let store = storage.open().await?;
            let Some(issued) = store.rotate_token(&token_id, lifetime.duration()).await? else {
                bail!("no unrevoked token has id {token_id:?}");
            };
            eprintln!("token {token_id} revoked; its sessions ended");
            show_issued(&issued)
        }
    }
}

/// Who got the token and until when (stderr), then the token alone on
/// stdout, so that `TOKEN=$(civicprobe … add …)` works.
fn show_issued(issued: &Issued) -> anyhow::Result<()> {
    let who = match &issued.principal {
        Principal::Courier { courier_id, name } => format!("courier {name} (id {courier_id})"),
        Principal::Office { office_id, person } => format!(
            "{} of office {office_id} (person {})",
            person.name, person.person_id
        ),
        Principal::Supervisor { person } => {
            format!("supervisor {} (person {})", person.name, person.person_id)
        }
    };
    eprintln!(
        "token {} for {who}, expires {}; the token (shown once):",
        issued.token_id,
        rfc3339(issued.expires_at)
    );
    println!("{}", issued.token);
    Ok(())
}

/// `token list`: a header, then one tab-separated line per token; the name
/// last, since it may hold spaces.
pub fn write_token_table(
    out: &mut dyn Write,
    tokens: &[TokenInfo],
    now: OffsetDateTime,
) -> std::io::Result<()> {
    writeln!(
        out,
        "TOKEN_ID\tROLE\tOFFICE\tHOLDER_ID\tSTATE\tCREATED\tEXPIRES\tLAST_USED\tREVOKED\tNAME"
    )?;
    for t in tokens {
        let (office, holder_id) = match &t.principal {
            Principal::Courier { courier_id, .. } => ("-".to_owned(), courier_id.to_string()),
            Principal::Office { office_id, person } => {
                (office_id.to_string(), person.person_id.to_string())
            }
            Principal::Supervisor { person } => ("-".to_owned(), person.person_id.to_string()),
        };
        let state = if t.revoked_at.is_some() {
            "revoked"
        } else if t.expires_at.is_some_and(|at| at <= now) {
            "expired"
        } else {
            "active"
        };
        let time = |at: Option<OffsetDateTime>| at.map_or("-".to_owned(), rfc3339);
        writeln!(
            out,
            "{}\t{}\t{office}\t{holder_id}\t{state}\t{}\t{}\t{}\t{}\t{}",
            t.token_id,
            t.role(),
            rfc3339(t.created_at),
            time(t.expires_at),
            time(t.last_used_at),
            time(t.revoked_at),
            t.holder_name(),
        )?;
    }
    Ok(())
}

/// `2026-12-01T11:00:00Z`, to the second.
fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}
