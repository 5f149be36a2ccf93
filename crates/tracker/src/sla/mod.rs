//! The SLA clock task: every tick it escalates new breaches
//! ([`Store::escalate_overdue`]) and verifies tickets resolved long enough
//! ago without a dispute ([`Store::auto_verify`]). Time comes from the
//! store's clock.

pub mod breaches;

use crate::{Error, Store};
use std::future::Future;
use std::time::Duration;

/// The SLA clock's settings, flattened into the CLI.
#[derive(clap::Args, Clone, Debug)]
#[group(id = "sla_clock_config")]
pub struct SlaConfig {
    /// Verify a resolved ticket automatically (points paid, flagged
    /// `auto_verified`) after this many days without a verdict or an open
    /// verification dispute. `--auto-close-days` is its old name.
    #[arg(
        long,
        alias = "auto-close-days",
        env = "CIVICPROBE_AUTO_VERIFY_DAYS",
        default_value_t = 7
    )]
    pub auto_verify_days: u32,
    /// Seconds between two sweeps of the SLA clock.
    #[arg(long, env = "CIVICPROBE_SLA_TICK_SECS", default_value_t = 30)]
    pub sla_tick_secs: u64,
    /// Who may verify a fix as a courier passing by, and with what photo.
    #[command(flatten)]
    pub verify: VerifyConfig,
}

/// The rules of a nearby courier's check (核查), given to the store with
/// [`Store::with_verification`].
#[derive(clap::Args, Clone, Copy, Debug, PartialEq)]
#[group(id = "verify_config")]
pub struct VerifyConfig {
    /// A courier may check a resolved ticket within this many metres of
    /// it (their position and the photo's EXIF GPS), and is offered those.
    #[arg(long, env = "CIVICPROBE_VERIFY_RADIUS_M", default_value_t = 300.0)]
    pub verify_radius_m: f64,
    /// The check's photo must have been taken (EXIF time, when present)
    /// at most this many minutes before the check.
    #[arg(
        long,
        env = "CIVICPROBE_VERIFY_PHOTO_MAX_AGE_MINS",
        default_value_t = 60
    )]
    pub verify_photo_max_age_mins: i64,
    /// The check's photo is refused as reused when its perceptual hash is
    /// within this many bits of a report or proof photo of the ticket
    /// (ingest's `--flag-reuse-bits` for reports).
    #[arg(long, env = "CIVICPROBE_VERIFY_REUSE_BITS", default_value_t = 6)]
    pub verify_reuse_bits: u32,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            verify_radius_m: 300.0,
            verify_photo_max_age_mins: 60,
            verify_reuse_bits: 6,
        }
    }
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            auto_verify_days: 7,
            sla_tick_secs: 30,
            verify: VerifyConfig::default(),
        }
    }
}

/// One sweep: escalations, then auto-verifications. Returns (escalated,
/// verified).
pub async fn sweep(store: &Store, config: &SlaConfig) -> Result<(usize, usize), Error> {
    let escalated = store.escalate_overdue().await?.len();
    let verified = store
        .auto_verify(time::Duration::days(i64::from(config.auto_verify_days)))
        .await?;
    Ok((escalated, verified))
}

/// Sweeps every `sla_tick_secs` until `shutdown` completes; failures are
/// logged and retried on the next tick.
pub async fn run_sla_clock(
    store: Store,
    config: SlaConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    tokio::pin!(shutdown);
    let tick = Duration::from_secs(config.sla_tick_secs.max(1));
    loop {
        match sweep(&store, &config).await {
            Ok((0, 0)) => {}
            Ok((escalated, verified)) => tracing::info!(escalated, verified, "SLA sweep"),
            Err(e) => tracing::warn!(error = %e, "SLA sweep failed; retrying next tick"),
        }
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(tick) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The settings as a command line flattens them.
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sla: SlaConfig,
    }

    #[test]
    fn defaults_and_the_old_flag_name() {
        let defaults = Cli::parse_from(["tracker"]).sla;
        assert_eq!(
            defaults.auto_verify_days,
            SlaConfig::default().auto_verify_days
        );
        assert_eq!(defaults.verify, VerifyConfig::default());
        let old = Cli::parse_from(["tracker", "--auto-close-days", "3"]).sla;
        assert_eq!(old.auto_verify_days, 3);
        let new = Cli::parse_from([
            "tracker",
            "--auto-verify-days",
            "5",
            "--verify-radius-m",
            "150",
        ]);
        assert_eq!(
            (new.sla.auto_verify_days, new.sla.verify.verify_radius_m),
            (5, 150.0)
        );
    }
}
