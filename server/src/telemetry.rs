//! Metrics in the Prometheus text format (served on `--metrics-addr` at `/metrics`) and logging.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::consensus::log_store::CommittedIndex;
use crate::consensus::{NodeId, NodeInfo, Raft};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide metrics recorder, installed on first use. `None` if another recorder was
/// installed first (metrics then go there).
pub fn recorder() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            const LATENCY: &[f64] = &[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            const SIZES: &[f64] = &[1.0, 10.0, 100.0, 1_000.0, 5_000.0, 10_000.0, 20_000.0];
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("seconds".into()), LATENCY)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("digests".into()), SIZES))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("requests".into()), SIZES))
                .ok()?
                .install_recorder()
                .ok()?;
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .clone()
}

/// The routes of the metrics server: `GET /metrics`.
pub fn metrics_router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [("Content-Type", "text/plain; version=0.0.4")],
                    handle.render(),
                )
            }
        }),
    )
}

/// Keeps the Raft gauges (term, leader, log, commit and apply indexes, replication lag per
/// follower) up to date from openraft's metrics.
pub fn spawn_raft_gauges(raft: Raft, committed: CommittedIndex) {
    let mut rx = raft.metrics();
    tokio::spawn(async move {
        let mut labels = Labels::default();
        loop {
            {
                let m = rx.borrow_and_update().clone();
                publish_indexes(&m, &committed);
                labels.publish_leader(&m);
                labels.publish_lag(&m);
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
    });
}

type Metrics = openraft::RaftMetrics<NodeId, NodeInfo>;

fn publish_indexes(m: &Metrics, committed: &CommittedIndex) {
    let is_leader = m.current_leader == Some(m.id);
    metrics::gauge!("qed_raft_term").set(m.current_term as f64);
    metrics::gauge!("qed_raft_is_leader").set(if is_leader { 1.0 } else { 0.0 });
    metrics::gauge!("qed_raft_leader_known").set(if m.current_leader.is_some() {
        1.0
    } else {
        0.0
    });
    metrics::gauge!("qed_raft_last_log_index").set(m.last_log_index.unwrap_or(0) as f64);
    metrics::gauge!("qed_raft_applied_index").set(m.last_applied.map_or(0, |l| l.index) as f64);
    metrics::gauge!("qed_raft_commit_index").set(committed.get().unwrap_or(0) as f64);
    metrics::gauge!("qed_raft_snapshot_index").set(m.snapshot.map_or(0, |l| l.index) as f64);
    metrics::gauge!("qed_raft_purged_index").set(m.purged.map_or(0, |l| l.index) as f64);
    metrics::gauge!("qed_raft_members")
        .set(m.membership_config.membership().nodes().count() as f64);
}

/// The labelled series published so far. The exporter cannot delete a series, so one that no
/// longer holds (a former leader, the lag of a node that is no longer our follower) is set to 0
/// rather than left showing a stale value.
#[derive(Default)]
struct Labels {
    leader: Option<String>,
    followers: BTreeSet<String>,
}

fn name_of(m: &Metrics, id: NodeId) -> String {
    m.membership_config
        .membership()
        .get_node(&id)
        .map_or_else(|| id.to_string(), |n| n.node_id.clone())
}

impl Labels {
    /// `qed_raft_leader{leader="<node id>"}` is 1 for the leader this node follows.
    fn publish_leader(&mut self, m: &Metrics) {
        let now = m.current_leader.map(|id| name_of(m, id));
        if now == self.leader {
            return;
        }
        if let Some(old) = self.leader.take() {
            metrics::gauge!("qed_raft_leader", "leader" => old).set(0.0);
        }
        if let Some(new) = &now {
            metrics::gauge!("qed_raft_leader", "leader" => new.clone()).set(1.0);
        }
        self.leader = now;
    }

    /// `qed_raft_replication_lag{follower}`: entries the leader has that the follower has not
    /// acknowledged yet. Only a leader replicates; elsewhere every series reads 0.
    fn publish_lag(&mut self, m: &Metrics) {
        let last_log = m.last_log_index.unwrap_or(0);
        let mut now = BTreeSet::new();
        let followers = m.replication.iter().flat_map(|r| r.iter());
        for (id, matched) in followers.filter(|(id, _)| **id != m.id) {
            let lag = last_log.saturating_sub(matched.map_or(0, |l| l.index));
            let name = name_of(m, *id);
            metrics::gauge!("qed_raft_replication_lag", "follower" => name.clone()).set(lag as f64);
            now.insert(name);
        }
        for gone in self.followers.difference(&now) {
            metrics::gauge!("qed_raft_replication_lag", "follower" => gone.clone()).set(0.0);
        }
        self.followers = now;
    }
}
