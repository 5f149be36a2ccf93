//! The SLA clock task: every tick it escalates new breaches
//! ([`Store::escalate_overdue`]) and closes tickets resolved long enough
//! ago ([`Store::auto_close`]). Time comes from the store's clock.

use crate::{Error, Store};
use std::future::Future;
use std::time::Duration;

/// The SLA clock's settings, flattened into the CLI.
#[derive(clap::Args, Clone, Debug)]
#[group(id = "sla_clock_config")]
pub struct SlaConfig {
    /// Close a resolved ticket automatically after this many days without
    /// a reopen or confirmation.
    #[arg(long, env = "CIVICPROBE_AUTO_CLOSE_DAYS", default_value_t = 7)]
    pub auto_close_days: u32,
    /// Seconds between two sweeps of the SLA clock.
    #[arg(long, env = "CIVICPROBE_SLA_TICK_SECS", default_value_t = 30)]
    pub sla_tick_secs: u64,
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            auto_close_days: 7,
            sla_tick_secs: 30,
        }
    }
}

/// One sweep: escalations, then auto-closes. Returns (escalated, closed).
pub async fn sweep(store: &Store, config: &SlaConfig) -> Result<(usize, usize), Error> {
    let escalated = store.escalate_overdue().await?.len();
    let closed = store
        .auto_close(time::Duration::days(i64::from(config.auto_close_days)))
        .await?;
    Ok((escalated, closed))
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
            Ok((escalated, closed)) => tracing::info!(escalated, closed, "SLA sweep"),
            Err(e) => tracing::warn!(error = %e, "SLA sweep failed; retrying next tick"),
        }
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(tick) => {}
        }
    }
}
