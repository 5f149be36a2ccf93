//! Points and what couriers spend them on: the ledger a verified ticket
//! pays into, the rewards catalogue, redemptions for pickup codes and
//! fraud reversals, serialised per courier by the wallet lock so that no
//! balance or stock goes below zero.
//!
//! # Layout
//!
//! - [`ledger`]: awarding points, balances, the leaderboard.
//! - [`rewards`] and `rewards_http`: the catalogue.
//! - [`redemptions`] and `redemptions_http`: redeeming, collecting,
//!   and reversing points ([`fraud`]).
//! - `wallet`: the per-courier lock and balance.

pub mod fraud;
pub mod ledger;
pub mod redemptions;
pub(crate) mod redemptions_http;
pub mod rewards;
pub(crate) mod rewards_http;
mod wallet;
