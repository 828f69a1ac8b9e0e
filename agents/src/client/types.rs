//! Answers of the API that have no verifier of their own in qed-core: the bulk add answer, the
//! leaf answer, and the node and cluster descriptions.

use qed_core::Hash;
use qed_core::receipt::Receipt;
use qed_core::snapshot::SnapshotJson;
use serde::{Deserialize, Serialize};

/// The answer to `POST /events/bulk`: one signed snapshot covering every entry, and the entries
/// in request order. It carries no inclusion proofs; [`crate::client::verify::bulk`] checks what
/// can be checked from it (signature, coverage, digests), and a member proof of any entry can be
/// asked later with a membership question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkAnswer {
    /// A signed snapshot whose size covers every entry.
    pub snapshot: SnapshotJson,
    /// One entry per submitted event or digest, in request order.
    pub entries: Vec<BulkEntry>,
}

/// One entry of a [`BulkAnswer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkEntry {
    /// The version at which the digest was first added.
    pub version: u64,
    /// The digest (`SHA-256(event)`).
    #[serde(with = "qed_core::json::hex")]
    pub digest: Hash,
    /// True when the digest was already in the log (before this request or earlier in it).
    pub duplicate: bool,
}

/// The answer to `GET /leaves/{version}`: a receipt without the `duplicate` flag.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LeafAnswer {
    version: u64,
    #[serde(with = "qed_core::json::hex")]
    digest: Hash,
    snapshot: SnapshotJson,
    #[serde(with = "qed_core::json::hex_list")]
    proof: Vec<Hash>,
}

impl From<LeafAnswer> for Receipt {
    fn from(l: LeafAnswer) -> Receipt {
        Receipt {
            version: l.version,
            digest: l.digest,
            duplicate: false,
            snapshot: l.snapshot,
            proof: l.proof,
        }
    }
}

/// The answer to `GET /info`: who this node is and what it knows of the log and the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// This node's `--node-id`.
    pub node_id: String,
    /// The log's origin (the signing key's name).
    #[serde(default)]
    pub origin: String,
    /// The node's verifier key string. A careful client takes its key from elsewhere (the
    /// operator), never from the node it is checking; this is for display and set-up.
    #[serde(default)]
    pub verifier_key: String,
    /// The size of the log as this node has applied it.
    #[serde(default)]
    pub size: u64,
    /// `leader`, `follower`, `candidate`, `learner`, ...
    #[serde(default)]
    pub role: String,
    /// The current leader's `--node-id`, when one is known.
    #[serde(default)]
    pub leader_id: Option<String>,
    /// The node's software version.
    #[serde(default)]
    pub version: String,
}

/// The answer to `GET /info/shards`: the cluster's members and its leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shards {
    /// The current leader's `--node-id`, when one is known.
    #[serde(default)]
    pub leader_id: Option<String>,
    /// Every member of the cluster.
    #[serde(default)]
    pub members: Vec<Member>,
}

/// One member of the cluster, as `GET /info/shards` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's `--node-id`.
    pub node_id: String,
    /// Where its HTTP API listens (`http://host:port`, `host:port` or `:port`).
    #[serde(default)]
    pub http_url: String,
    /// Where its Raft RPCs listen.
    #[serde(default)]
    pub raft_addr: String,
    /// Where its management API listens.
    #[serde(default)]
    pub mgmt_url: String,
    /// Its role as the answering node sees it.
    #[serde(default)]
    pub role: String,
}

impl Shards {
    /// The leader's HTTP URL as announced, when a leader is known and listed.
    pub fn leader_http_url(&self) -> Option<&str> {
        let id = self.leader_id.as_deref()?;
        self.members
            .iter()
            .find(|m| m.node_id == id)
            .map(|m| m.http_url.as_str())
    }
}
