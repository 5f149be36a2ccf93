//! The rewards catalogue from the command line: `civicprobe rewards add
//! --name … --cost … --stock …`, `rewards list` and `rewards retire ID`,
//! against the store the services use ([`Storage`]). The checks are the
//! tracker's ([`RewardDraft::parse`]); a refusal names the field.

use crate::admin::Storage;
use civicprobe_tracker::points::rewards::{Reward, RewardDraft};
use clap::Subcommand;
use std::io::Write;

/// Who the catalogue records as having added a reward from here.
const CLI_ACTOR: &str = "cli";

/// `rewards add | list | retire`.
#[derive(Debug, Subcommand)]
pub enum RewardsAction {
    /// Add a reward; prints its id.
    Add {
        /// What couriers see, e.g. 保温杯 (1 to 80 characters).
        #[arg(long, env = "CIVICPROBE_REWARD_NAME")]
        name: String,
        /// Points one item costs (1 to 100000).
        #[arg(long, env = "CIVICPROBE_REWARD_COST", allow_negative_numbers = true)]
        cost: i64,
        /// Items in stock (0 to 1000000).
        #[arg(long, env = "CIVICPROBE_REWARD_STOCK", allow_negative_numbers = true)]
        stock: i64,
        #[command(flatten)]
        storage: Storage,
    },
    /// Every reward, retired ones too.
    List {
        #[command(flatten)]
        storage: Storage,
    },
    /// Retire a reward: couriers can no longer redeem it.
    Retire {
        /// The reward id from `rewards list`.
        reward_id: uuid::Uuid,
        #[command(flatten)]
        storage: Storage,
    },
}

/// Runs a `rewards` command.
pub async fn rewards(action: RewardsAction) -> anyhow::Result<()> {
    match action {
        RewardsAction::Add {
            name,
            cost,
            stock,
            storage,
        } => {
            let draft = RewardDraft::parse(&name, cost, stock)?;
            let reward = storage.open().await?.add_reward(&draft, CLI_ACTOR).await?;
            eprintln!(
                "reward {}: {} for {} points, {} in stock",
                reward.reward_id, reward.name, reward.cost, reward.stock
            );
            println!("{}", reward.reward_id);
        }
        RewardsAction::List { storage } => {
            let rewards = storage.open().await?.rewards(true).await?;
            write_reward_table(&mut std::io::stdout().lock(), &rewards)?;
        }
        RewardsAction::Retire { reward_id, storage } => {
            let reward = storage.open().await?.retire_reward(reward_id).await?;
            eprintln!("reward {} ({}) retired", reward.reward_id, reward.name);
        }
    }
    Ok(())
}

/// A header, then one tab-separated line per reward; the name last.
pub fn write_reward_table(out: &mut dyn Write, rewards: &[Reward]) -> std::io::Result<()> {
    writeln!(out, "REWARD_ID\tCOST\tSTOCK\tSTATE\tNAME")?;
    for r in rewards {
        let state = if r.retired { "retired" } else { "active" };
        writeln!(
            out,
            "{}\t{}\t{}\t{state}\t{}",
            r.reward_id, r.cost, r.stock, r.name
        )?;
    }
    Ok(())
}
