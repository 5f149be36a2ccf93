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

    /// Triggers on Ctrl-C or SIGTERM.
    pub fn on_signals(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown signal received");
            this.trigger();
        });
    }
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
