//! How every service makes its streams and consumers: the flags behind
//! [`JetStreamSettings`], shared by `up`, `ingest`, `router` and
//! `tracker`.

use civicprobe_model::nats::{JetStreamSettings, DEFAULT_MAX_DELIVERIES};

/// `--stream-replicas` and `--max-deliveries`.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct JetStreamArgs {
    /// Replicas of every stream and object store this service creates
    /// (1 to 5). 3 on a 3-node NATS cluster, so that losing a node stops
    /// nothing; an existing stream is updated to it at start.
    #[arg(
        long,
        env = "CIVICPROBE_STREAM_REPLICAS",
        default_value_t = 1,
        value_parser = clap::value_parser!(u8).range(1..=5)
    )]
    pub stream_replicas: u8,
    /// How many times a consumer's handler may reject a message (it does
    /// not decode, it is refused) before the message goes to the
    /// `DEAD_LETTERS` stream. Outages (database, NATS) never count.
    #[arg(
        long,
        env = "CIVICPROBE_MAX_DELIVERIES",
        default_value_t = DEFAULT_MAX_DELIVERIES,
        value_parser = clap::value_parser!(u32).range(1..=100)
    )]
    pub max_deliveries: u32,
}

impl JetStreamArgs {
    /// The settings the services take.
    pub fn settings(&self) -> JetStreamSettings {
        JetStreamSettings {
            replicas: usize::from(self.stream_replicas),
            max_deliveries: self.max_deliveries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        js: JetStreamArgs,
    }

    #[test]
    fn replicas_are_bounded_and_default_to_one() {
        let defaults = Cli::parse_from(["t"]).js.settings();
        assert_eq!(defaults, JetStreamSettings::default());
        let three = Cli::parse_from(["t", "--stream-replicas", "3"])
            .js
            .settings();
        assert_eq!(three.replicas, 3);
        for bad in ["0", "6", "x"] {
            assert!(Cli::try_parse_from(["t", "--stream-replicas", bad]).is_err());
        }
        assert!(Cli::try_parse_from(["t", "--max-deliveries", "0"]).is_err());
    }
}
