//! What each row of the authorization matrix is aimed at: the shared
//! fixtures (courier A's ticket in office X's queue with courier B's report
//! merged into it, A's unrouted report, office X's proof photo, a reward
//! too dear for anyone to redeem) and fresh
//! targets for the cells that change something, so that no cell sees
//! another's side effects.

use crate::matrix_world::{Session, World, A_TEXT};
use anyhow::{ensure, Context};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The state a fresh ticket is brought to before an action's cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pre {
    /// As opened.
    Open,
    /// Acknowledged by the supervisor.
    Acknowledged,
    /// Acknowledged and resolved by the supervisor.
    Resolved,
    /// Rejected by the supervisor as `not_our_area`: an open dispute.
    Disputed,
}

/// What a row's path placeholders (`$T` ticket, `$R` report, `$P` proof
/// photo, `$W` reward) name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Nothing to fill in.
    Nothing,
    /// Courier A's ticket in office X's area (B's report merged into it).
    TicketA,
    /// A ticket id nobody has.
    UnknownTicket,
    /// The report that opened `TicketA`.
    ReportA,
    /// Courier B's report merged into `TicketA`.
    ReportB,
    /// Courier A's report outside every area.
    ReportUnrouted,
    /// `TicketA` and the proof photo office X uploaded for it.
    Proof,
    /// The shared reward (100000 points: nobody can afford it).
    Reward,
    /// A ticket like `TicketA`, in this state, that no other cell changed.
    Fresh(Pre),
    /// An unrouted report of A's that no other cell routed.
    FreshUnrouted,
    /// The caller's own session: cookie callers sign in anew for the cell,
    /// so that signing out does not end the shared session.
    OwnSession,
}

/// The shared fixtures and the pools of fresh ones.
pub struct Targets {
    pub ticket_a: String,
    pub report_a: String,
    pub report_b: String,
    pub report_unrouted: String,
    pub proof_sha: String,
    /// The reward the rewards rows aim at.
    pub reward: String,
    /// The proof photo's bytes (uploading them again stores nothing new).
    pub proof_photo: Vec<u8>,
    unknown: String,
    /// Open tickets nobody has used yet.
    tickets: Vec<String>,
    /// The ticket each state's cells use until one changes it.
    current: HashMap<Pre, String>,
    unrouted: Vec<String>,
    current_unrouted: Option<String>,
}

/// A cell's target, resolved.
#[derive(Clone, Debug, Default)]
pub struct Aim {
    pub ticket: Option<String>,
    pub report: Option<String>,
    pub proof: Option<String>,
    pub reward: Option<String>,
    /// Fresh targets are watched for changes.
    pub watched: bool,
    /// The session cookie callers use.
    pub session: Option<Session>,
}

impl Aim {
    /// `path` with its placeholders filled in.
    pub fn fill(&self, path: &str) -> String {
        let mut out = path.to_owned();
        for (key, value) in [
            ("$T", &self.ticket),
            ("$R", &self.report),
            ("$P", &self.proof),
            ("$W", &self.reward),
        ] {
            if let Some(value) = value {
                out = out.replace(key, value);
            }
        }
        out
    }
}

impl Targets {
    /// A's ticket (waited for in X's queue), B's merged report, A's
    /// unrouted report, X's proof photo, and a first pool of fresh ones.
    pub async fn prepare(world: &World) -> anyhow::Result<Self> {
        let ticket_a = world.new_tickets(1).await?.remove(0);
        let queue = world
            .get_as(&world.people.office_x, "/v1/offices/wenquan/tickets")
            .await?;
        ensure!(
            queue.to_string().contains(&ticket_a),
            "not in X's queue: {queue}"
        );
        let ticket = world
            .supervisor_get(&format!("/v1/tickets/{ticket_a}"))
            .await?;
        ensure!(
            carries_a_text(&ticket),
            "A's text is not on A's ticket: {ticket}"
        );
        let report_a = ticket["report_id"]
            .as_str()
            .context("report_id")?
            .to_owned();
        let report_b = merged_report(&ticket).context("no merged report")?;
        let report_unrouted = world.new_unrouted(1).await?.remove(0);
        let proof_photo = world.next_photo();
        let proof_sha = world.upload_proof(&ticket_a, &proof_photo).await?;
        let tickets = world.new_tickets(24).await?;
        let reward = world.add_reward().await?;
        // By now A's ticket is overdue (the policy gives it a second).
        let overdue = world.supervisor_get("/v1/audit/overdue").await?;
        ensure!(
            overdue.to_string().contains(&ticket_a),
            "A's ticket is not overdue: {overdue}"
        );
        Ok(Self {
            ticket_a,
            report_a,
            report_b,
            report_unrouted,
            proof_sha,
            proof_photo,
            reward,
            unknown: uuid::Uuid::new_v4().to_string(),
            tickets,
            current: HashMap::new(),
            unrouted: world.new_unrouted(3).await?,
            current_unrouted: None,
        })
    }

    /// What `target` names for this cell.
    pub async fn aim(&mut self, world: &World, target: Target) -> anyhow::Result<Aim> {
        let mut aim = Aim::default();
        match target {
            Target::Nothing => {}
            Target::TicketA => aim.ticket = Some(self.ticket_a.clone()),
            Target::UnknownTicket => aim.ticket = Some(self.unknown.clone()),
            Target::ReportA => aim.report = Some(self.report_a.clone()),
            Target::ReportB => aim.report = Some(self.report_b.clone()),
            Target::ReportUnrouted => aim.report = Some(self.report_unrouted.clone()),
            Target::Proof => {
                aim.ticket = Some(self.ticket_a.clone());
                aim.proof = Some(self.proof_sha.clone());
            }
            Target::Reward => {
                aim.reward = Some(self.reward.clone());
                aim.watched = true;
            }
            Target::Fresh(pre) => {
                aim.ticket = Some(self.fresh_ticket(world, pre).await?);
                aim.watched = true;
            }
            Target::FreshUnrouted => {
                aim.report = Some(self.fresh_unrouted(world).await?);
                aim.watched = true;
            }
            Target::OwnSession => {
                aim.session = Some(world.sign_in(&world.people.office_x).await?);
            }
        }
        Ok(aim)
    }

    async fn fresh_ticket(&mut self, world: &World, pre: Pre) -> anyhow::Result<String> {
        if let Some(id) = self.current.get(&pre) {
            return Ok(id.clone());
        }
        if self.tickets.is_empty() {
            self.tickets = world.new_tickets(8).await?;
        }
        let id = self.tickets.pop().context("a fresh ticket")?;
        if pre == Pre::Disputed {
            let body = json!({"reason": "not_our_area"});
            world.supervisor_act(&id, "reject", body).await?;
        } else if pre != Pre::Open {
            world.supervisor_act(&id, "acknowledge", json!({})).await?;
        }
        if pre == Pre::Resolved {
            world
                .supervisor_act(&id, "resolve", json!({"note": "fixed for the matrix"}))
                .await?;
        }
        self.current.insert(pre, id.clone());
        Ok(id)
    }

    async fn fresh_unrouted(&mut self, world: &World) -> anyhow::Result<String> {
        if let Some(id) = &self.current_unrouted {
            return Ok(id.clone());
        }
        if self.unrouted.is_empty() {
            self.unrouted = world.new_unrouted(3).await?;
        }
        let id = self.unrouted.pop().context("a fresh unrouted report")?;
        self.current_unrouted = Some(id.clone());
        Ok(id)
    }

    /// What can change about a watched target: a ticket's state, office
    /// and number of steps (escalations aside), or whether a report is
    /// still unrouted.
    pub async fn snapshot(&self, world: &World, aim: &Aim) -> anyhow::Result<String> {
        if !aim.watched {
            return Ok(String::new());
        }
        if let Some(reward) = &aim.reward {
            let all = world.supervisor_get("/v1/rewards").await?;
            let found = all["rewards"].as_array().and_then(|rs| {
                rs.iter()
                    .find(|r| r["reward_id"] == reward.as_str())
                    .cloned()
            });
            let r = found.context("the matrix's reward")?;
            return Ok(format!(
                "reward {} cost {} stock {} retired {}",
                r["name"], r["cost"], r["stock"], r["retired"]
            ));
        }
        if let Some(ticket) = &aim.ticket {
            let t = world
                .supervisor_get(&format!("/v1/tickets/{ticket}"))
                .await?;
            let steps = t["events"]
                .as_array()
                .map_or(0, |e| e.iter().filter(|e| e["kind"] != "escalated").count());
            return Ok(format!(
                "{} in {}, {steps} steps",
                t["state"], t["office_id"]
            ));
        }
        let report = aim.report.clone().unwrap_or_default();
        let unrouted = world.all_unrouted(&[report]).await?;
        Ok(format!("unrouted: {unrouted}"))
    }

    /// Forgets a watched target a cell changed: the next cell gets another.
    pub fn used_up(&mut self, aim: &Aim) {
        if let Some(ticket) = &aim.ticket {
            self.current.retain(|_, id| id != ticket);
        }
        if aim.report.is_some() && aim.ticket.is_none() {
            self.current_unrouted = None;
        }
    }
}

/// The report id of the ticket's `merged` step (its note names it).
fn merged_report(ticket: &Value) -> Option<String> {
    ticket["events"].as_array()?.iter().find_map(|e| {
        (e["kind"] == "merged").then(|| {
            e["note"]
                .as_str()?
                .strip_prefix("report ")
                .map(str::to_owned)
        })?
    })
}

impl World {
    /// The supervisor adds the matrix's reward; its id.
    pub async fn add_reward(&self) -> anyhow::Result<String> {
        let r = self
            .http
            .post(format!("{}/v1/rewards", self.base))
            .bearer_auth(&self.people.supervisor)
            .json(&json!({"name": "矩阵奖品 matrix prize", "cost": 100_000, "stock": 5}))
            .send()
            .await?;
        ensure!(r.status() == 201, "reward: {}", r.status());
        let body: Value = r.json().await?;
        Ok(body["reward_id"].as_str().context("reward_id")?.to_owned())
    }

    /// Office X uploads `photo` as proof for `ticket`; its sha256.
    pub async fn upload_proof(&self, ticket: &str, photo: &[u8]) -> anyhow::Result<String> {
        let form = reqwest::multipart::Form::new()
            .part("photo", crate::matrix_world::jpeg_part(photo.to_vec()));
        let r = self
            .http
            .post(format!("{}/v1/tickets/{ticket}/proof-photos", self.base))
            .bearer_auth(&self.people.office_x)
            .multipart(form)
            .send()
            .await?;
        ensure!(r.status() == 201, "proof photo: {}", r.status());
        let body: Value = r.json().await?;
        Ok(body["sha256"].as_str().context("sha256")?.to_owned())
    }
}

/// Whether the ticket shows A's text (checked once, so that the leak
/// check's marker is known to be real).
fn carries_a_text(ticket: &Value) -> bool {
    ticket["text"].as_str().is_some_and(|t| t.contains(A_TEXT))
}
