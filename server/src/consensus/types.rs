//! The openraft type configuration of a QED cluster: what a Raft entry carries, what applying it
//! answers, and how members are named and reached.

use std::fmt;
use std::io::Cursor;
use std::sync::Arc;

use qed_core::Hash;
use serde::{Deserialize, Serialize};

use crate::consensus::snapshot_file::SnapshotFile;
use crate::state_machine::Applied;

openraft::declare_raft_types!(
    /// Types of the QED Raft group: entries carry groups of digests, members are [`NodeInfo`],
    /// snapshots are files holding a whole Ledger export.
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = u64,
        Node = NodeInfo,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = SnapshotFile,
        AsyncRuntime = openraft::TokioRuntime,
);

// `declare_raft_types!` names `Cursor` in its expansion of the default snapshot type.
#[allow(dead_code)]
type UnusedCursor = Cursor<Vec<u8>>;

/// The Raft handle of a QED node.
pub type Raft = openraft::Raft<TypeConfig>;
/// openraft's numeric member id.
pub type NodeId = u64;
/// A Raft log id (term, leader, index).
pub type LogId = openraft::LogId<NodeId>;
/// Membership as recorded by the state machine.
pub type StoredMembership = openraft::StoredMembership<NodeId, NodeInfo>;
/// Metadata of a Raft snapshot.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, NodeInfo>;

/// One Raft entry's application data: a group of event digests, committed together (group
/// commit). Serialised as one byte string of `32 * n` bytes so that large groups cost little to
/// encode, store and replicate.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The digests, in the order their versions will be assigned.
    #[serde(with = "digest_bytes")]
    pub digests: Vec<Hash>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Request({} digests)", self.digests.len())
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What applying an entry answers on the node that applied it. Only the leader's local caller
/// reads it, so it is never serialised (followers' answers are dropped).
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Response {
    /// The Ledger's result for an entry holding digests; `None` for blank and membership entries.
    #[serde(skip)]
    pub applied: Option<Arc<Applied>>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.applied {
            Some(a) => write!(f, "Response({} entries)", a.entries.len()),
            None => write!(f, "Response(-)"),
        }
    }
}

/// A member of the cluster: its name and the URLs it serves. Carried in Raft membership entries,
/// so every node knows where every other one is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The `--node-id` string.
    pub node_id: String,
    /// Base URL of the public HTTP API, e.g. `http://127.0.0.1:8800`.
    pub http_url: String,
    /// `host:port` of the Raft RPC endpoint.
    pub raft_addr: String,
    /// Base URL of the management API.
    pub mgmt_url: String,
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.node_id, self.raft_addr)
    }
}

/// The numeric Raft id of a node name: the first 8 bytes of `SHA-256(name)`, big-endian.
/// Deterministic, so every member derives the same id from the same `--node-id`.
///
/// ```
/// assert_eq!(qed_server::consensus::raft_id("node0"), qed_server::consensus::raft_id("node0"));
/// assert_ne!(qed_server::consensus::raft_id("node0"), qed_server::consensus::raft_id("node1"));
/// ```
pub fn raft_id(name: &str) -> NodeId {
    let d = qed_core::hash::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first)
}

/// Serde for a list of digests as one byte string (32 bytes per digest).
mod digest_bytes {
    use qed_core::Hash;
    use serde::de::Error;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(digests: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        let flat: Vec<u8> = digests.iter().flat_map(|d| d.iter().copied()).collect();
        s.serialize_bytes(&flat)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        let flat: serde_bytes_buf::ByteBuf = serde::Deserialize::deserialize(d)?;
        let flat = flat.0;
        if !flat.len().is_multiple_of(32) {
            return Err(D::Error::custom("digest bytes are not a multiple of 32"));
        }
        Ok(flat
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect())
    }

    /// A byte buffer that deserialises from a byte string (bincode) or a sequence (JSON).
    mod serde_bytes_buf {
        use serde::de::{SeqAccess, Visitor};
        use std::fmt;

        pub struct ByteBuf(pub Vec<u8>);

        impl<'de> serde::Deserialize<'de> for ByteBuf {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = ByteBuf;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, v: &[u8]) -> Result<ByteBuf, E> {
                        Ok(ByteBuf(v.to_vec()))
                    }
                    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                        Ok(ByteBuf(v))
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
                        let mut out = Vec::new();
                        while let Some(b) = seq.next_element::<u8>()? {
                            out.push(b);
                        }
                        Ok(ByteBuf(out))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_through_bincode_and_rejects_ragged_bytes() {
        let req = Request {
            digests: vec![[1; 32], [2; 32], [3; 32]],
        };
        let bytes = bincode::serialize(&req).unwrap();
        // 8-byte length prefix + 96 bytes: digests travel as raw bytes.
        assert_eq!(bytes.len(), 8 + 96);
        assert_eq!(bincode::deserialize::<Request>(&bytes).unwrap(), req);
        let mut ragged = bincode::serialize(&vec![0u8; 33]).unwrap();
        assert!(bincode::deserialize::<Request>(&ragged).is_err());
        ragged.truncate(4);
        assert!(bincode::deserialize::<Request>(&ragged).is_err());
    }

    #[test]
    fn raft_ids_are_stable() {
        // Pinned: changing the mapping would orphan every existing cluster's membership.
        assert_eq!(
            raft_id("node0"),
            u64::from_be_bytes(qed_core::hash::digest(b"node0")[..8].try_into().unwrap())
        );
        assert_ne!(raft_id("node1"), raft_id("node2"));
    }
}
