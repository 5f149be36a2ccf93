//! One shutdown signal for every task of a process.

use tokio::sync::watch;

/// Cloneable trigger and listener. Every task gets [`Shutdown::signalled`]
/// as its `shutdown` future; [`Shutdown::trigger`] resolves them all.
#[derive(Clone, Debug)]
pub struct Shutdown {
    /// `true` once triggered.
    tx: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Self {
        Self {
            tx: watch::channel(false).0,
        }
    }

    /// Resolves every [`Shutdown::signalled`] future, now and later.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// A future that resolves once [`Shutdown::trigger`] was called.
    pub fn signalled(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            // An error means the sender is gone, which is also a shutdown.
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }

    /// Triggers on Ctrl-C or SIGTERM. The handlers are installed before
    /// this returns, so a signal sent right after (say, once `up` printed
    /// its address) is never met by the default action.
    pub fn on_signals(&self) {
        let this = self.clone();
        let signals = Signals::install();
        tokio::spawn(async move {
            signals.wait().await;
            tracing::info!("shutdown signal received");
            this.trigger();
        });
    }
}

/// SIGINT and SIGTERM, registered with the runtime (on Unix; elsewhere
/// Ctrl-C, registered when first awaited).
struct Signals {
    /// SIGINT and SIGTERM streams; `None` if registering failed.
    #[cfg(unix)]
    unix: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let unix = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGINT/SIGTERM"))
                .ok();
            Self { unix }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn wait(self) {
        #[cfg(unix)]
        match self.unix {
            Some((mut int, mut term)) => {
                tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
            }
            None => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
