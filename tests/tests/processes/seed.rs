//! The seed's "QED cluster" walkthrough, run as written by `scripts/seed-cluster.sh`: a leader and
//! two followers on the seed's fixed ports, an event added on the leader with `qed client`, its
//! membership verified through the follower at http://localhost:8081.
//!
//! The fixed ports must be free: the test checks them first and fails with a message naming the
//! busy one. The script runs in its own process group, which the test kills when it is done, so
//! no `qed` process outlives the test even if the script hangs or the test fails.

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use qed_tests::qed_bin;
use tokio::process::Command;

/// Every port the walkthrough binds (`:PORT` = every interface): HTTP, Raft, management and the
/// default metrics port (HTTP + 100) of the leader and the two followers.
const SEED_PORTS: [u16; 12] = [
    8800, 8500, 8700, 8900, 8081, 9001, 8091, 8181, 8082, 9002, 8092, 8182,
];

/// Kills a whole process group when dropped (the script and every `qed` it started).
struct GroupGuard(u32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .status();
    }
}

fn busy_ports() -> Vec<u16> {
    SEED_PORTS
        .into_iter()
        .filter(|p| TcpListener::bind(("0.0.0.0", *p)).is_err())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_cluster_walkthrough_runs_as_written() {
    let busy = busy_ports();
    assert!(
        busy.is_empty(),
        "the seed walkthrough needs its fixed ports, but {busy:?} are in use (another qed, or a \
         test running in parallel); free them and run again"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/seed-cluster.sh");
    let child = Command::new("bash")
        .arg(&script)
        .env("QED_BIN", qed_bin())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("bash runs the script");
    let _group = GroupGuard(child.id().expect("a pid"));
    let out = tokio::time::timeout(Duration::from_secs(150), child.wait_with_output())
        .await
        .expect("the walkthrough finished within 150 s")
        .expect("the script's output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walkthrough failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("seed cluster walkthrough: OK"), "{stdout}");
    assert!(
        stdout.contains("\"member\": true") && stderr.contains("verified: member at version 0"),
        "{stdout}\n{stderr}"
    );
    // Three members and a leader, as the leader's GET /info/shards printed it.
    for id in ["\"node0\"", "\"node1\"", "\"node2\""] {
        assert!(stdout.contains(id), "{id} is not listed:\n{stdout}");
    }
    // The script stopped every node it started: the ports are free again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !busy_ports().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        busy_ports(),
        Vec::<u16>::new(),
        "ports still in use after the script"
    );
}
