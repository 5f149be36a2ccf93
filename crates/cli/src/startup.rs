//! Starting while NATS is away: every service listens at once, and what
//! needs NATS comes up when NATS does, in this order:
//!
//! 1. connect in the background ([`crate::broker::Broker::connect_or_wait`]);
//! 2. ensure, once connected, the streams and consumers the service needs
//!    ([`Startup::ensure`]), each step retried with back-off (0.2 s doubling
//!    to 5 s) until it succeeds, so that a NATS that goes away again in the
//!    middle only delays it;
//! 3. run the stages that need them ([`Gate::then`]), each spawned at
//!    start and waiting at its gate.
//!
//! Meanwhile `/readyz` answers 503 naming `nats` or the missing stream, and
//! ingest accepts reports into its outbox (its publisher retries on its
//! own). Nothing here ends the process: only the shutdown signal does.

use crate::shutdown::Shutdown;
use async_nats::jetstream;
use futures::future::BoxFuture;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The first pause after a failed step.
const FIRST_PAUSE: Duration = Duration::from_millis(200);
/// The longest pause between two attempts at a step.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);
/// How often the connection's state is looked at while waiting for it.
const CONNECTION_POLL: Duration = Duration::from_millis(100);

/// One thing to make sure of on NATS, e.g. creating a stream.
type Step = Box<dyn Fn(jetstream::Context) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// What a service makes sure of on NATS before its stages run.
pub struct Startup {
    /// The service's name, for log lines.
    service: &'static str,
    /// The connection the steps wait for.
    client: async_nats::Client,
    /// The steps, in order, each with what it makes sure of.
    steps: Vec<(&'static str, Step)>,
}

impl std::fmt::Debug for Startup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let steps: Vec<&str> = self.steps.iter().map(|(what, _)| *what).collect();
        f.debug_struct("Startup")
            .field("service", &self.service)
            .field("steps", &steps)
            .finish_non_exhaustive()
    }
}

impl Startup {
    /// No steps yet, on `client` (connected or still connecting).
    pub fn new(service: &'static str, client: &async_nats::Client) -> Self {
        Self {
            service,
            client: client.clone(),
            steps: Vec::new(),
        }
    }

    /// Adds a step: `what` (e.g. "the TICKETS stream") made sure of by
    /// `step`, which must be idempotent (it is retried).
    pub fn ensure<F, Fut, E>(mut self, what: &'static str, step: F) -> Self
    where
        F: Fn(jetstream::Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        anyhow::Error: From<E>,
    {
        let step: Step = Box::new(move |js| {
            let attempt = step(js);
            Box::pin(async move { attempt.await.map_err(anyhow::Error::from) })
        });
        self.steps.push((what, step));
        self
    }

    /// Runs the steps in the background; the gate opens once all have
    /// succeeded. The task ends then, or at shutdown.
    pub fn spawn(self, shutdown: &Shutdown) -> (Gate, JoinHandle<anyhow::Result<()>>) {
        let (open, gate) = watch::channel(false);
        let shutdown = shutdown.clone();
        let task = tokio::spawn(async move {
            tokio::select! {
                () = shutdown.signalled() => {}
                () = self.run() => { let _ = open.send(true); }
            }
            Ok(())
        });
        (Gate(gate), task)
    }

    /// Each step once connected, until it succeeds.
    async fn run(self) {
        let js = jetstream::new(self.client.clone());
        for (what, step) in &self.steps {
            let mut pause = FIRST_PAUSE;
            loop {
                self.until_connected().await;
                match step(js.clone()).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(service = self.service, what, error = %format!("{e:#}"), retry_in = ?pause, "start-up: cannot make sure of it yet");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(LONGEST_PAUSE);
                    }
                }
            }
        }
        let done: Vec<&str> = self.steps.iter().map(|(what, _)| *what).collect();
        tracing::info!(service = self.service, ready = ?done, "start-up: streams and consumers in place");
    }

    /// Returns once the client is connected, saying every [`REMINDER`]
    /// that it still waits (the broker warned once at start; a long outage
    /// should not be silent).
    async fn until_connected(&self) {
        let waiting = Instant::now();
        let mut said = waiting;
        while !is_connected(&self.client) {
            if said.elapsed() >= REMINDER {
                said = Instant::now();
                tracing::warn!(service = self.service, waited = ?waiting.elapsed(), "start-up: still no NATS server answers; streams and consumers wait for one");
            }
            tokio::time::sleep(CONNECTION_POLL).await;
        }
    }
}

/// How often a start-up waiting for NATS says so again.
const REMINDER: Duration = Duration::from_secs(30);

/// Whether `client` is connected now.
fn is_connected(client: &async_nats::Client) -> bool {
    matches!(
        client.connection_state(),
        async_nats::connection::State::Connected
    )
}

/// Opens once a [`Startup`]'s steps have all succeeded.
#[derive(Clone, Debug)]
pub struct Gate(watch::Receiver<bool>);

impl Gate {
    /// Spawns `stage` to run once the gate opens; if the shutdown signal
    /// comes first, the stage never runs and the task ends `Ok`.
    pub fn then<Fut, E>(&self, shutdown: &Shutdown, stage: Fut) -> JoinHandle<anyhow::Result<()>>
    where
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        anyhow::Error: From<E>,
    {
        let mut gate = self.0.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown.signalled() => return Ok(()),
                opened = gate.wait_for(|open| *open) => if opened.is_err() { return Ok(()) },
            }
            stage.await.map_err(anyhow::Error::from)
        })
    }
}

impl Gate {
    /// Waits up to `within` for the gate to open; whether it did. A start
    /// with NATS there waits so that, as before, the streams and consumers
    /// exist once the service listens.
    pub async fn wait(&self, within: Duration) -> bool {
        let mut gate = self.0.clone();
        let opened = tokio::time::timeout(within, gate.wait_for(|open| *open)).await;
        matches!(opened, Ok(Ok(_)))
    }
}

/// How long a start with NATS connected waits for its steps.
pub const CONNECTED_START: Duration = Duration::from_secs(10);

/// The tracker's live event hub: positioned at the end of `TICKETS` now
/// when NATS is there (the gate opens within [`CONNECTED_START`]), else
/// later, by its own task ([`civicprobe_tracker::events::Hub::unpositioned`]).
pub async fn event_hub(
    gate: &Gate,
    js: &jetstream::Context,
    store: &civicprobe_tracker::Store,
    config: civicprobe_tracker::events::EventsConfig,
) -> anyhow::Result<civicprobe_tracker::events::Hub> {
    use civicprobe_tracker::events::Hub;
    if is_connected(&js.client()) && gate.wait(CONNECTED_START).await {
        return Hub::connect(js.clone(), store.clone(), config)
            .await
            .map_err(|e| anyhow::anyhow!("following the TICKETS stream for live events: {e}"));
    }
    Ok(Hub::unpositioned(js.clone(), store.clone(), config))
}
