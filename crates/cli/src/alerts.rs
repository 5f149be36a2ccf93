//! Alert channels from the command line: `civicprobe office alert
//! OFFICE_ID --webhook URL --format …`, `civicprobe supervisor alert …`,
//! `civicprobe alerts list` and `civicprobe alerts remove CHANNEL_ID`.
//! The checks are the tracker's ([`NewChannel::parse`], a known office);
//! a refusal says what is wrong. Secrets and the keys in robot URLs are
//! masked in every listing; a generated JSON secret is printed once.

use crate::admin::Storage;
use anyhow::bail;
use civicprobe_model::OfficeId;
use civicprobe_tracker::alerts::{Audience, Channel, NewChannel};
use clap::{Args, Subcommand};
use std::io::Write;

/// A channel's settings, shared by `office alert` and `supervisor alert`.
#[derive(Debug, Args)]
pub struct ChannelArgs {
    /// The webhook URL: the group robot's, copied from the group's
    /// settings, or a JSON receiver's.
    #[arg(long, env = "CIVICPROBE_ALERT_WEBHOOK")]
    pub webhook: String,
    /// wecom, dingtalk, feishu or json.
    #[arg(long, env = "CIVICPROBE_ALERT_FORMAT")]
    pub format: String,
    /// The signing secret: DingTalk's 加签 (`SEC…`) or Feishu's 签名校验;
    /// required for json (generated and printed once when omitted).
    #[arg(long, env = "CIVICPROBE_ALERT_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// A name for people, e.g. the group's.
    #[arg(long, env = "CIVICPROBE_ALERT_LABEL")]
    pub label: Option<String>,
    #[command(flatten)]
    pub storage: Storage,
}

/// `alerts list | remove`.
#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Every channel (secrets and URL keys masked).
    List {
        /// Only this office's.
        #[arg(long)]
        office: Option<OfficeId>,
        #[command(flatten)]
        storage: Storage,
    },
    /// Remove a channel and its deliveries not yet made.
    Remove {
        /// The channel id from `alerts list`.
        channel_id: uuid::Uuid,
        #[command(flatten)]
        storage: Storage,
    },
}

/// `office alert` (`Some(office)`) or `supervisor alert` (`None`).
pub async fn add(office: Option<OfficeId>, args: ChannelArgs) -> anyhow::Result<()> {
    let audience = match office {
        Some(office) => Audience::Office(office),
        None => Audience::Supervisors,
    };
    let new = NewChannel::parse(
        audience,
        &args.webhook,
        &args.format,
        args.secret.as_deref(),
        args.label.as_deref(),
    )?;
    let store = args.storage.open().await?;
    let channel = store.add_alert_channel(&new).await?;
    let whose = match &channel.audience {
        Audience::Office(office) => format!("office {office}"),
        Audience::Supervisors => "the supervisors".to_owned(),
    };
    let signed = if channel.secret.is_some() {
        ", signed"
    } else {
        ""
    };
    eprintln!(
        "alert channel {} for {whose}: {} to {}{signed}",
        channel.channel_id,
        channel.format,
        channel.url.masked()
    );
    println!("{}", channel.channel_id);
    if args.secret.is_none() {
        if let Some(secret) = &new.secret {
            eprintln!("its signing secret (shown once; the receiver checks X-Civicprobe-Signature with it):");
            println!("{}", secret.expose());
        }
    }
    Ok(())
}

/// `alerts list | remove`.
pub async fn alerts(action: AlertsAction) -> anyhow::Result<()> {
    match action {
        AlertsAction::List { office, storage } => {
            let channels = storage
                .open()
                .await?
                .alert_channels(office.as_ref())
                .await?;
            write_channel_table(&mut std::io::stdout().lock(), &channels)?;
        }
        AlertsAction::Remove {
            channel_id,
            storage,
        } => {
            if !storage
                .open()
                .await?
                .remove_alert_channel(channel_id)
                .await?
            {
                bail!("no alert channel has id {channel_id}");
            }
            eprintln!("alert channel {channel_id} removed");
        }
    }
    Ok(())
}

/// A header, then one tab-separated line per channel; the label last.
pub fn write_channel_table(out: &mut dyn Write, channels: &[Channel]) -> std::io::Result<()> {
    writeln!(
        out,
        "CHANNEL_ID\tAUDIENCE\tOFFICE\tFORMAT\tSECRET\tURL\tLABEL"
    )?;
    for c in channels {
        let (audience, office) = match &c.audience {
            Audience::Office(office) => ("office", office.to_string()),
            Audience::Supervisors => ("supervisors", "-".to_owned()),
        };
        writeln!(
            out,
            "{}\t{audience}\t{office}\t{}\t{}\t{}\t{}",
            c.channel_id,
            c.format,
            if c.secret.is_some() { "***" } else { "-" },
            c.url.masked(),
            c.label.as_deref().unwrap_or("-"),
        )?;
    }
    Ok(())
}
